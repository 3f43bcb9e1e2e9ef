package guardrails

import (
	"fmt"
	"strings"

	"github.com/outside-in/outside-in/internal/kubemeta"
)

// DefaultTolerations are the only tolerations an environment's pod may carry: those the API
// server gives every pod (the DefaultTolerationSeconds admission plugin), so that a pod leaves
// a node that stopped answering after at most five minutes.
var DefaultTolerations = []string{"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}

// defaultTolerationSeconds is the DefaultTolerationSeconds plugin's 300 s.
const defaultTolerationSeconds = 300

// pinning says whether the label key k is one an environment's pods may not select nodes by: a
// node's host name (one node: the k3s server, a node the platform's controller runs on) or its
// role (the control plane).
func pinning(k string) string {
	return k + " == 'kubernetes.io/hostname' || " + k + ".startsWith('node-role.kubernetes.io/')"
}

// workloadsPolicy confines where an environment's pods may run and whom they may outrank,
// judged on every kind that makes pods (the group is granted Deployments; pods, ReplicaSets,
// StatefulSets, DaemonSets, Jobs and CronJobs are judged too, should a rule ever grant them):
// the environments' PriorityClass or none, never a node by name, no toleration but the default
// ones (not the k3s servers' CriticalAddonsOnly, no node-role.kubernetes.io/* or
// node.kubernetes.io/* taint, not the wildcard), pod (anti-)affinity only within its own
// namespace, no node selector or node affinity on host names or node roles; and a Deployment
// keeps a bounded history of ReplicaSets.
//
// Why each: a pod that outranks the controller and repels it by anti-affinity (required
// anti-affinity is symmetric) evicts the controller and keeps its replacements Pending; a pod
// that names or tolerates its way onto the k3s server shares the datastore's node; a
// namespaceSelector lets a pod's placement depend on, and push away, pods of the platform.
func workloadsPolicy() AdmissionPolicy {
	spec := "variables.spec"
	// Every pod affinity term, required and preferred, of podAffinity and podAntiAffinity.
	var podTerms, nodeTerms []string
	for _, kind := range []string{"podAffinity", "podAntiAffinity"} {
		a := "variables.affinity." + kind
		podTerms = append(podTerms,
			fmt.Sprintf("(has(%s) && has(%s.requiredDuringSchedulingIgnoredDuringExecution) ? %s.requiredDuringSchedulingIgnoredDuringExecution : [])", a, a, a),
			fmt.Sprintf("(has(%s) && has(%s.preferredDuringSchedulingIgnoredDuringExecution) ? %s.preferredDuringSchedulingIgnoredDuringExecution.map(w, w.podAffinityTerm) : [])", a, a, a))
	}
	na := "variables.affinity.nodeAffinity"
	nodeTerms = append(nodeTerms,
		fmt.Sprintf("(has(%s) && has(%s.requiredDuringSchedulingIgnoredDuringExecution) ? %s.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms : [])", na, na, na),
		fmt.Sprintf("(has(%s) && has(%s.preferredDuringSchedulingIgnoredDuringExecution) ? %s.preferredDuringSchedulingIgnoredDuringExecution.map(p, p.preference) : [])", na, na, na))
	tolerated := fmt.Sprintf("has(t.key) && t.key in %s && has(t.effect) && t.effect == 'NoExecute' && has(t.tolerationSeconds) && t.tolerationSeconds <= %d",
		celList(DefaultTolerations), defaultTolerationSeconds)
	class := kubemeta.EnvironmentsPriorityClass
	return AdmissionPolicy{
		Name:           "outside-in-environments-workloads",
		Why:            "an environment's pods run at the environments' priority, on nodes the scheduler picks, away from the platform's nodes and pods",
		InEnvironments: true,
		Match: []Match{
			{Groups: []string{""}, Resources: []string{"pods", "replicationcontrollers"}, Operations: []string{"CREATE", "UPDATE"}},
			{Groups: []string{"apps"}, Resources: []string{"deployments", "replicasets", "statefulsets", "daemonsets"}, Operations: []string{"CREATE", "UPDATE"}},
			{Groups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Operations: []string{"CREATE", "UPDATE"}},
		},
		Variables: []Variable{
			{"spec", "request.resource.resource == 'pods' ? object.spec : (request.resource.resource == 'cronjobs' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)"},
			{"what", "request.kind.kind + ' ' + object.metadata.name"},
			{"affinity", "has(" + spec + ".affinity) ? " + spec + ".affinity : {}"},
			{"podTerms", strings.Join(podTerms, " + ")},
			{"nodeTerms", strings.Join(nodeTerms, " + ")},
			{"badTolerations", "has(" + spec + ".tolerations) ? " + spec + ".tolerations.filter(t, !(" + tolerated + ")) : []"},
			{"badNodeSelector", "has(" + spec + ".nodeSelector) ? " + spec + ".nodeSelector.filter(k, " + pinning("k") + ") : []"},
		},
		Validations: []Validation{
			{
				Expression: "!has(" + spec + ".priorityClassName) || " + spec + ".priorityClassName in ['', '" + class + "']",
				Message:    "variables.what + ': priorityClassName ' + " + spec + ".priorityClassName + ' is not allowed; an environment\\'s pods run at " + class + " (name it, or none)'",
			},
			{
				Expression: fmt.Sprintf("(!has(%s.priority) || %s.priority == %d) && (!has(%s.preemptionPolicy) || %s.preemptionPolicy == %q)",
					spec, spec, EnvironmentsPriority.Value, spec, spec, EnvironmentsPriority.PreemptionPolicy),
				Message: fmt.Sprintf("variables.what + ': priority and preemptionPolicy come from the PriorityClass "+class+" (%d, %s); an environment may not set others'",
					EnvironmentsPriority.Value, EnvironmentsPriority.PreemptionPolicy),
			},
			{
				Expression: "!has(" + spec + ".nodeName) || " + spec + ".nodeName == ''",
				Message:    "variables.what + ': nodeName ' + " + spec + ".nodeName + ' is not allowed; the scheduler places an environment\\'s pods'",
			},
			{
				Expression: "size(variables.badTolerations) == 0",
				Message: fmt.Sprintf("variables.what + ': an environment\\'s pods may tolerate only %s (NoExecute, for at most %d s), not ' + "+
					"variables.badTolerations.map(t, (has(t.key) && t.key != '' ? t.key : '* (every taint)') + (has(t.effect) && t.effect != '' ? ':' + t.effect : '')).join(', ')",
					strings.Join(DefaultTolerations, " and "), defaultTolerationSeconds),
			},
			{
				Expression: "variables.podTerms.all(t, !has(t.namespaceSelector))",
				Message:    "variables.what + ': a pod affinity or anti-affinity term may not set namespaceSelector (it reaches pods of other namespaces; {} reaches every namespace); terms select pods of ' + request.namespace + ' only'",
			},
			{
				Expression: "variables.podTerms.all(t, !has(t.namespaces) || t.namespaces.all(n, n == request.namespace))",
				Message:    "variables.what + ': a pod affinity or anti-affinity term may name only its own namespace ' + request.namespace + ', not ' + variables.podTerms.filter(t, has(t.namespaces)).map(t, t.namespaces.filter(n, n != request.namespace).join(', ')).join(', ')",
			},
			{
				Expression: "size(variables.badNodeSelector) == 0",
				Message:    "variables.what + ': nodeSelector may not select a node by host name or role, not ' + variables.badNodeSelector.join(', ') + '; select by zone or instance type, or not at all'",
			},
			{
				Expression: "variables.nodeTerms.all(t, (!has(t.matchFields) || size(t.matchFields) == 0) && (!has(t.matchExpressions) || t.matchExpressions.all(e, !(" + pinning("e.key") + "))))",
				Message: "variables.what + ': node affinity may not select a node by name (matchFields) or by host name or role, not ' + " +
					"variables.nodeTerms.map(t, (has(t.matchFields) ? t.matchFields.map(f, f.key) : []) + (has(t.matchExpressions) ? t.matchExpressions.filter(e, " + pinning("e.key") + ").map(e, e.key) : [])).map(l, l.join(', ')).filter(s, s != '').join(', ')",
			},
			{
				Expression: fmt.Sprintf("request.resource.resource != 'deployments' || (has(object.spec.revisionHistoryLimit) && object.spec.revisionHistoryLimit <= %d)", EnvironmentRevisionHistory),
				Message: fmt.Sprintf("variables.what + ': revisionHistoryLimit ' + (has(object.spec.revisionHistoryLimit) ? string(object.spec.revisionHistoryLimit) : 'unset') + ' is above %d, the most old ReplicaSets an environment\\'s Deployment may keep'",
					EnvironmentRevisionHistory),
			},
		},
	}
}

// celList is a CEL list literal of strings.
func celList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = "'" + celString(s) + "'"
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
