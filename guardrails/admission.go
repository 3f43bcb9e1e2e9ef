package guardrails

import (
	"fmt"
	"sort"
	"strings"
)

// AdmissionPolicy is one ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA since
// Kubernetes 1.30) the platform installs, bound with validationActions Deny. Each applies only
// to requests of the environments group (its match condition) and fails closed.
type AdmissionPolicy struct {
	// Name is the policy's and its binding's name.
	Name string
	// Why says what the policy protects, for the reader of the cluster's objects.
	Why string
	// Match are the requests the policy judges.
	Match []Match
	// Variables are named CEL expressions the validations use (variables.<name>).
	Variables []Variable
	// Validations are CEL expressions that must all be true; Message is a CEL expression that
	// gives the refusal's message.
	Validations []Validation
	// QuotaParam makes the namespace's ResourceQuota (EnvironmentQuotaName) the policy's
	// parameter, with parameterNotFoundAction Deny: without the quota, the request is refused.
	// Its binding judges only namespaces labelled EnvironmentLabel (outside them the
	// confining policy refuses, with its own message).
	QuotaParam bool
	// InEnvironments limits the policy to requests in environment namespaces: outside them the
	// confining policy refuses every write, and it alone says why.
	InEnvironments bool
}

// EnvironmentLabel names an environment namespace's environment. The namespace policy requires
// it (equal to the namespace's name without the prefix) and the quota-first binding selects
// namespaces by it: a binding's parameter is looked up before its match conditions run, so the
// binding itself must leave other namespaces out.
const EnvironmentLabel = "outside-in/environment"

// MatchConditions are the policy's match conditions, as CEL expressions by name.
func (p AdmissionPolicy) MatchConditions() [][2]string {
	out := [][2]string{{"environments-group", inGroup}}
	if p.InEnvironments {
		out = append(out, [2]string{"environment-namespace", "request.namespace.startsWith(" + fmt.Sprintf("%q", NamespacePrefix) + ")"})
	}
	return out
}

// Match is a set of resources and operations a policy judges.
type Match struct {
	Groups, Resources, Operations []string
	// Namespaced limits the match to namespaced resources (the rule's scope).
	Namespaced bool
}

// Variable is a named CEL expression.
type Variable struct{ Name, Expression string }

// Validation is a CEL expression that must hold, and the CEL expression of the message when it
// does not.
type Validation struct{ Expression, Message string }

// inGroup is every policy's match condition: the request comes from the environments group.
var inGroup = fmt.Sprintf("%q in request.userInfo.groups", EnvironmentsGroup)

var writes = []string{"CREATE", "UPDATE", "DELETE"}

// EnvironmentPolicies are the admission half of what an environment may do (EnvironmentsRules
// is the RBAC half): writes only inside environment namespaces; namespaces only named env-*
// and enforcing Pod Security restricted, their labels kept; Services only of type ClusterIP
// without external IPs; Ingresses only of the platform's class, for hosts
// `<app>-<env>.<envDomain>` of the environment's own name, of bounded size; HTTPRoutes only for
// such hosts, attached to the platform's Gateway, to its own Services, of bounded size; its quota and limits
// at most the platform's, never deleted; no Deployment before the quota exists; pods at the
// environments' priority, placed by the scheduler away from the platform's nodes and pods;
// disruption budgets that always allow an eviction; and no finalizers.
func EnvironmentPolicies(p Platform) []AdmissionPolicy {
	prefix := fmt.Sprintf("%q", NamespacePrefix)
	return []AdmissionPolicy{
		{
			Name: "outside-in-environments-confined",
			Why:  "the environments group changes objects only in environment namespaces",
			Match: []Match{{Groups: []string{"*"}, Resources: []string{"*/*"},
				Operations: []string{"CREATE", "UPDATE", "DELETE", "CONNECT"}, Namespaced: true}},
			Validations: []Validation{{
				Expression: "request.namespace.startsWith(" + prefix + ")",
				Message:    "'the group " + EnvironmentsGroup + " may change objects only in " + NamespacePrefix + "* namespaces, not in ' + request.namespace",
			}},
		},
		{
			Name:  "outside-in-environments-namespaces",
			Why:   "environment namespaces are named env-* and enforce Pod Security restricted",
			Match: []Match{{Groups: []string{""}, Resources: []string{"namespaces"}, Operations: writes}},
			Variables: []Variable{
				{"ns", "request.operation == 'DELETE' ? oldObject : object"},
				{"labels", "request.operation == 'UPDATE' && has(object.metadata.labels) ? object.metadata.labels : {}"},
				{"oldLabels", "request.operation == 'UPDATE' && has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}"},
			},
			Validations: []Validation{
				{
					Expression: "variables.ns.metadata.name.startsWith(" + prefix + ")",
					Message:    "'the group " + EnvironmentsGroup + " may create, change or delete only namespaces named " + NamespacePrefix + "*, not ' + variables.ns.metadata.name",
				},
				{
					Expression: "request.operation == 'DELETE' || (has(object.metadata.labels) && object.metadata.labels.exists(k, k == " + fmt.Sprintf("%q", EnvironmentLabel) + ") && object.metadata.labels[" + fmt.Sprintf("%q", EnvironmentLabel) + "] == object.metadata.name.substring(" + fmt.Sprint(len(NamespacePrefix)) + "))",
					Message:    "'namespace ' + object.metadata.name + ': an environment namespace carries the label " + EnvironmentLabel + "=<its name without " + NamespacePrefix + ">'",
				},
				{
					Expression: "request.operation == 'DELETE' || (has(object.metadata.labels) && object.metadata.labels.exists(k, k == 'pod-security.kubernetes.io/enforce') && object.metadata.labels['pod-security.kubernetes.io/enforce'] == 'restricted')",
					Message:    "'namespace ' + object.metadata.name + ': an environment namespace must keep the label pod-security.kubernetes.io/enforce=restricted'",
				},
				{
					Expression: "request.operation == 'DELETE' || !has(object.metadata.labels) || !object.metadata.labels.exists(k, k == 'pod-security.kubernetes.io/enforce-version') || object.metadata.labels['pod-security.kubernetes.io/enforce-version'] == 'latest'",
					Message:    "'namespace ' + object.metadata.name + ': pod-security.kubernetes.io/enforce-version must be latest (or absent)'",
				},
				namespaceLabelsKept(),
			},
		},
		{
			Name:           "outside-in-environments-services",
			Why:            "environments open no node port and make no load balancer",
			InEnvironments: true,
			Match:          []Match{{Groups: []string{""}, Resources: []string{"services"}, Operations: []string{"CREATE", "UPDATE"}}},
			Validations: []Validation{
				{
					Expression: "has(object.spec.type) && object.spec.type == 'ClusterIP'",
					Message:    "'Service ' + object.metadata.name + ': an environment may declare only ClusterIP Services, not ' + (has(object.spec.type) ? object.spec.type : 'none') + ' (the platform owns every load balancer and node port)'",
				},
				{
					Expression: "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
					Message:    "'Service ' + object.metadata.name + ': an environment may not set externalIPs'",
				},
			},
		},
		ingressPolicy(p),
		routePolicy(p),
		quotaPolicy(),
		workloadsPolicy(),
		budgetsPolicy(),
		finalizersPolicy(),
		{
			Name:       "outside-in-environments-quota-first",
			Why:        "no workload in an environment namespace before its quota holds",
			Match:      []Match{{Groups: []string{"apps"}, Resources: []string{"deployments"}, Operations: []string{"CREATE", "UPDATE"}}},
			QuotaParam: true,
			// Without the quota the binding finds no parameter and refuses (parameterNotFoundAction
			// Deny); with it, the quota must hold the platform's limits.
			Validations: quotaBounds("params"),
		},
	}
}

// ingressPolicy confines an environment's Ingresses to the platform's class and to hosts of its
// own (environmentHostVariables): one label under envDomain, `<app>-<env>`, so that no
// environment can claim a platform host or another environment's.
func ingressPolicy(p Platform) AdmissionPolicy {
	return AdmissionPolicy{
		Name:           "outside-in-environments-ingresses",
		Why:            "environments publish only their own hosts under envDomain, through the platform's controller",
		InEnvironments: true,
		Match:          []Match{{Groups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Operations: []string{"CREATE", "UPDATE"}}},
		Variables:      environmentHostVariables(p),
		Validations: []Validation{
			{
				Expression: "has(object.spec.ingressClassName) && object.spec.ingressClassName == " + fmt.Sprintf("%q", p.IngressClass),
				Message:    "'Ingress ' + object.metadata.name + ': ingressClassName must be " + p.IngressClass + ", the platform\\'s controller'",
			},
			{
				Expression: "!has(object.metadata.annotations) || object.metadata.annotations.all(k, !k.startsWith('traefik.ingress.kubernetes.io/') && k != 'kubernetes.io/ingress.class')",
				Message:    "'Ingress ' + object.metadata.name + ': an environment may not set controller annotations (traefik.ingress.kubernetes.io/*, kubernetes.io/ingress.class)'",
			},
			{
				Expression: "!has(object.spec.defaultBackend)",
				Message:    "'Ingress ' + object.metadata.name + ': an environment may not set a default backend'",
			},
			{
				Expression: "has(object.spec.rules) && size(object.spec.rules) > 0 && object.spec.rules.all(r, has(r.host) && r.host.matches(variables.host))",
				Message:    "'Ingress ' + object.metadata.name + ': every rule needs a host <app>-' + variables.env + '." + p.EnvDomain + " (one label under " + p.EnvDomain + ", of this environment)'",
			},
			{
				Expression: fmt.Sprintf("!has(object.spec.rules) || (size(object.spec.rules) <= %d && object.spec.rules.all(r, !has(r.http) || size(r.http.paths) <= %d))", EnvironmentIngressRules, EnvironmentIngressPaths),
				Message: fmt.Sprintf("'Ingress ' + object.metadata.name + ': at most %d rules of at most %d paths each (what the platform\\'s controller holds for one environment is bounded), not ' + "+
					"string(size(object.spec.rules)) + ' rules of ' + object.spec.rules.map(r, string(has(r.http) ? size(r.http.paths) : 0)).join(', ') + ' paths'", EnvironmentIngressRules, EnvironmentIngressPaths),
			},
			{
				Expression: "!has(object.spec.tls) || object.spec.tls.all(t, !has(t.hosts) || t.hosts.all(h, h.matches(variables.host)))",
				Message:    "'Ingress ' + object.metadata.name + ': every TLS host must be <app>-' + variables.env + '." + p.EnvDomain + "'",
			},
			{
				Expression: "object.spec.rules.all(r, !has(r.http) || r.http.paths.all(x, has(x.backend.service)))",
				Message:    "'Ingress ' + object.metadata.name + ': every path must go to a Service of the environment'",
			},
		},
	}
}

// quotaPolicy keeps an environment's ResourceQuota and LimitRange within the platform's limits
// and refuses their deletion (they go with the namespace, which env down deletes).
func quotaPolicy() AdmissionPolicy {
	isQuota := "request.resource.resource == 'resourcequotas'"
	isLimits := "request.resource.resource == 'limitranges'"
	v := []Validation{
		{
			Expression: "request.operation != 'DELETE'",
			Message:    "request.resource.resource + ' ' + oldObject.metadata.name + ': an environment may not delete its quota or limits; they go with its namespace'",
		},
		{
			Expression: "request.operation == 'DELETE' || !(" + isQuota + ") || (object.metadata.name == " + fmt.Sprintf("%q", EnvironmentQuotaName) + " && !has(object.spec.scopes) && !has(object.spec.scopeSelector))",
			Message:    "'ResourceQuota ' + object.metadata.name + ': an environment has one ResourceQuota, " + EnvironmentQuotaName + ", without scopes'",
		},
		{
			Expression: "request.operation == 'DELETE' || !(" + isLimits + ") || (object.metadata.name == " + fmt.Sprintf("%q", EnvironmentLimitsName) + " && size(object.spec.limits) == 1 && object.spec.limits[0].type == 'Container')",
			Message:    "'LimitRange ' + object.metadata.name + ': an environment has one LimitRange, " + EnvironmentLimitsName + ", with one Container item'",
		},
	}
	for _, b := range quotaBounds("object") {
		v = append(v, Validation{
			Expression: "request.operation == 'DELETE' || !(" + isQuota + ") || (" + b.Expression + ")",
			Message:    b.Message,
		})
	}
	for _, kind := range []struct {
		field  string
		values map[string]string
	}{{"default", EnvironmentDefaultLimits}, {"defaultRequest", EnvironmentDefaultRequests}, {"max", EnvironmentMaxLimits}} {
		for _, r := range sortedKeys(kind.values) {
			item := "object.spec.limits[0]"
			v = append(v, Validation{
				Expression: fmt.Sprintf("request.operation == 'DELETE' || !(%s) || (has(%s.%s) && %s.%s.exists(k, k == %q) && quantity(%s.%s[%q]).compareTo(quantity(%q)) <= 0)",
					isLimits, item, kind.field, item, kind.field, r, item, kind.field, r, kind.values[r]),
				Message: fmt.Sprintf("'LimitRange ' + object.metadata.name + ': %s %s must be set and at most %s, the platform\\'s limit'", kind.field, r, kind.values[r]),
			})
		}
	}
	return AdmissionPolicy{
		Name:           "outside-in-environments-quota",
		Why:            "an environment's quota and limits stay within the platform's and are never deleted",
		InEnvironments: true,
		Match:          []Match{{Groups: []string{""}, Resources: []string{"resourcequotas", "limitranges"}, Operations: writes}},
		Validations:    v,
	}
}

// quotaBounds are the validations that the quota named by obj (object, or params) holds every
// key of EnvironmentQuota at most at the platform's value.
func quotaBounds(obj string) []Validation {
	var out []Validation
	for _, k := range sortedKeys(EnvironmentQuota) {
		out = append(out, Validation{
			Expression: fmt.Sprintf("has(%s.spec.hard) && %s.spec.hard.exists(k, k == %q) && quantity(%s.spec.hard[%q]).compareTo(quantity(%q)) <= 0",
				obj, obj, k, obj, k, EnvironmentQuota[k]),
			Message: fmt.Sprintf("'ResourceQuota %s of namespace ' + request.namespace + ': %s must be set and at most %s, the platform\\'s limit'", EnvironmentQuotaName, k, EnvironmentQuota[k]),
		})
	}
	return out
}

// celString escapes s for a single-quoted CEL string literal.
func celString(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
