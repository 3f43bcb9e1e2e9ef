package guardrails

import "github.com/outside-in/outside-in/internal/envname"

// EnvironmentsGroup is the Kubernetes group of environment stacks: the CI environments role's
// access entry puts it there on EKS, and the environments' client certificate names it on k3s.
const EnvironmentsGroup = "outside-in:environments"

// Rule is one RBAC rule of the environments group's ClusterRole.
type Rule struct {
	Groups, Resources, Verbs []string
	// Why says which step of env up, an update, env down or env check needs it.
	Why string
}

// EnvironmentsRules are the RBAC half of what an environment stack may do in the platform's
// cluster. RBAC cannot name a namespace that does not exist yet, so the rules are bound
// cluster-wide; the admission policies (EnvironmentPolicies) then confine every write to
// environment namespaces and to what the platform allows there. Reads are not admission
// requests: what the rules let the group read, it reads in every namespace, so they grant no
// Secrets, no RBAC object and nothing cluster-wide but namespaces.
//
// The reads are exactly those pulumi-kubernetes' awaits make (provider/v4 pkg/await: a
// Deployment watches its ReplicaSets, Pods and PersistentVolumeClaims, a Service and an
// Ingress their Services and Endpoints, every await the core Events of its namespace) and
// those `env check` makes (EndpointSlices).
var EnvironmentsRules = []Rule{
	{[]string{""}, []string{"namespaces"}, manageVerbs, "env up makes the environment's namespace; env down deletes it"},
	{[]string{""}, []string{"configmaps", "services", "resourcequotas", "limitranges"}, manageVerbs, "the environment's objects"},
	{[]string{"apps"}, []string{"deployments"}, manageVerbs, "the apps"},
	{[]string{"policy"}, []string{"poddisruptionbudgets"}, manageVerbs, "the apps' disruption budgets"},
	{[]string{"networking.k8s.io"}, []string{"ingresses", "networkpolicies"}, manageVerbs, "routes and network policies"},
	{[]string{"apps"}, []string{"replicasets"}, readVerbs, "the Deployment await"},
	{[]string{""}, []string{"pods", "persistentvolumeclaims"}, readVerbs, "the Deployment await"},
	{[]string{""}, []string{"endpoints"}, readVerbs, "the Service and Ingress awaits"},
	{[]string{""}, []string{"events"}, readVerbs, "every await reports its object's events"},
	{[]string{"discovery.k8s.io"}, []string{"endpointslices"}, readVerbs, "env check: the apps' ready endpoints"},
}

var (
	manageVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	readVerbs   = []string{"get", "list", "watch"}
)

// The platform's limits on one environment. The environment stack declares its ResourceQuota
// and LimitRange with these values; the admission policies refuse any other (above them,
// without them, or their deletion), so they hold whatever an environment's identity sends.
var (
	// EnvironmentQuota bounds what one environment can take from the shared cluster. It allows
	// no LoadBalancer and no NodePort Service (the admission policy refuses those kinds of
	// Service too): an environment can never make a load balancer the platform does not own,
	// nor open a port on the nodes.
	EnvironmentQuota = map[string]string{
		"requests.cpu":           "2",
		"requests.memory":        "2Gi",
		"limits.cpu":             "8",
		"limits.memory":          "8Gi",
		"requests.storage":       "0",
		"persistentvolumeclaims": "0",
		"pods":                   "40",
		"services":               "20",
		"services.loadbalancers": "0",
		"services.nodeports":     "0",
	}
	// EnvironmentDefaultRequests and EnvironmentDefaultLimits are the LimitRange's container
	// defaults, for containers that state none (the quota needs every pod to state them).
	EnvironmentDefaultRequests = map[string]string{"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "64Mi"}
	EnvironmentDefaultLimits   = map[string]string{"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "256Mi"}
)

// EnvironmentQuotaName and EnvironmentLimitsName are the names of an environment's
// ResourceQuota and LimitRange; the admission policies look the quota up by this name.
const (
	EnvironmentQuotaName  = "environment"
	EnvironmentLimitsName = "environment"
)

// Platform is what the admission policies need to know of the platform they guard.
type Platform struct {
	// EnvDomain is the domain environments' hosts are one label under.
	EnvDomain string
	// IngressClass is the platform's ingress class, the only one an environment may use.
	IngressClass string
}

// NamespacePrefix starts every environment namespace; the policies confine the group to them.
const NamespacePrefix = envname.NamespacePrefix
