package guardrails

import "fmt"

// BudgetSelectorLabel is the label every environment's PodDisruptionBudget selects on, with its
// own name as the value: a pod carries one value of a label, so two budgets of a namespace never
// select the same pod (the eviction API refuses to evict a pod under two budgets, which would
// block a drain for good). The App component labels its pods app.kubernetes.io/name=<app> and
// names the budget <app>.
const BudgetSelectorLabel = "app.kubernetes.io/name"

// gcFinalizers are the finalizers of Kubernetes' garbage collector, which removes them itself.
var gcFinalizers = []string{"foregroundDeletion", "orphan"}

// RenewableNamespaceLabels are the labels of an environment namespace that the environments group
// may change: env up renews the expiry and may change the owner. The reaper never reads them
// (it reads the stacks' tags), so an environment that changes another's gains nothing.
var RenewableNamespaceLabels = []string{"outside-in/expires-at", "outside-in/owner"}

// budgetsPolicy keeps every drain able to finish: an environment's PodDisruptionBudget states
// maxUnavailable of at least 1 (or 1%, which the disruption controller rounds up to one pod),
// never minAvailable (at or above the replicas, or 100%, it allows no eviction); lets unhealthy
// pods go (unhealthyPodEvictionPolicy AlwaysAllow: pods that never become ready would otherwise
// keep the budget unhealthy and every eviction refused); and selects only pods labelled with its
// own name (BudgetSelectorLabel).
func budgetsPolicy() AdmissionPolicy {
	mu := "object.spec.maxUnavailable"
	return AdmissionPolicy{
		Name:           "outside-in-environments-budgets",
		Why:            "an environment's disruption budgets always allow an eviction, so drains, node updates and scale-downs finish",
		InEnvironments: true,
		Match:          []Match{{Groups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}, Operations: []string{"CREATE", "UPDATE"}}},
		Validations: []Validation{
			{
				Expression: "has(" + mu + ") && !has(object.spec.minAvailable)",
				Message:    "'PodDisruptionBudget ' + object.metadata.name + ': an environment\\'s budget states maxUnavailable (at least 1, or 1%), not minAvailable ' + (has(object.spec.minAvailable) ? string(object.spec.minAvailable) : 'and no maxUnavailable') + ', which can allow no eviction at all'",
			},
			{
				Expression: "!has(" + mu + ") || (type(" + mu + ") == int ? " + mu + " >= 1 : string(" + mu + ").matches('^0*[1-9][0-9]*%$'))",
				Message:    "'PodDisruptionBudget ' + object.metadata.name + ': maxUnavailable ' + string(" + mu + ") + ' allows no eviction; at least 1 (or 1%) is required, so that a drain finishes'",
			},
			{
				Expression: "has(object.spec.unhealthyPodEvictionPolicy) && object.spec.unhealthyPodEvictionPolicy == 'AlwaysAllow'",
				Message:    "'PodDisruptionBudget ' + object.metadata.name + ': unhealthyPodEvictionPolicy must be AlwaysAllow, not ' + (has(object.spec.unhealthyPodEvictionPolicy) ? object.spec.unhealthyPodEvictionPolicy : 'unset (IfHealthyBudget)') + ': pods that never become ready would otherwise block every eviction'",
			},
			{
				Expression: fmt.Sprintf("has(object.spec.selector) && has(object.spec.selector.matchLabels) && %q in object.spec.selector.matchLabels && object.spec.selector.matchLabels[%q] == object.metadata.name", BudgetSelectorLabel, BudgetSelectorLabel),
				Message:    "'PodDisruptionBudget ' + object.metadata.name + ': its selector must have matchLabels " + BudgetSelectorLabel + "=' + object.metadata.name + ' (its own name), so that no pod is under two budgets, which the eviction API refuses to evict'",
			},
		},
	}
}

// finalizersPolicy refuses every finalizer the environments group adds, on any object it writes,
// namespaces included: nothing of an environment removes a finalizer, so one would keep its
// object, and the namespace being deleted around it, Terminating for good, and every reaper run
// after it failing. All environments share the group: this is also what keeps one environment
// from hanging another's teardown. The garbage collector's own finalizers are left alone, and an
// update may keep finalizers the object already has.
func finalizersPolicy() AdmissionPolicy {
	return AdmissionPolicy{
		Name:  "outside-in-environments-finalizers",
		Why:   "no environment can leave a finalizer that keeps a namespace Terminating",
		Match: []Match{{Groups: []string{"*"}, Resources: []string{"*"}, Operations: []string{"CREATE", "UPDATE"}}},
		Variables: []Variable{{"added",
			"has(object.metadata) && has(object.metadata.finalizers) ? object.metadata.finalizers.filter(f, !(f in " + celList(gcFinalizers) + ") && !(oldObject != null && has(oldObject.metadata.finalizers) && f in oldObject.metadata.finalizers)) : []"}},
		Validations: []Validation{{
			Expression: "size(variables.added) == 0",
			Message:    "request.kind.kind + ' ' + object.metadata.name + ': an environment may not add the finalizers ' + variables.added.join(', ') + ' (nothing would remove them, and its namespace would never finish deleting); allowed: only the garbage collector\\'s, " + gcFinalizers[0] + " and " + gcFinalizers[1] + "'",
		}},
	}
}

// namespaceLabelsKept is the namespaces policy's validation that an update changes no label of
// an environment namespace but RenewableNamespaceLabels.
func namespaceLabelsKept() Validation {
	renewable := celList(RenewableNamespaceLabels)
	changed := "variables.oldLabels.filter(k, !(k in " + renewable + ") && !(k in variables.labels && variables.labels[k] == variables.oldLabels[k])) + " +
		"variables.labels.filter(k, !(k in " + renewable + ") && !(k in variables.oldLabels))"
	return Validation{
		Expression: "request.operation != 'UPDATE' || size(" + changed + ") == 0",
		Message:    "'namespace ' + object.metadata.name + ': an environment may change only the labels " + RenewableNamespaceLabels[0] + " and " + RenewableNamespaceLabels[1] + " of a namespace (env up renews them), not ' + (" + changed + ").join(', ')",
	}
}
