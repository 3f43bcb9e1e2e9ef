package guardrails

import (
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/envname"
)

// EnvironmentsGroup is the Kubernetes group of environment stacks: the CI environments role's
// access entry puts it there on EKS, and the environments' client certificate names it on k3s.
const EnvironmentsGroup = "outside-in:environments"

// Rule is one RBAC rule of the environments group's ClusterRole.
type Rule struct {
	Groups, Resources, Verbs []string
	// Why says which step of env up, an update, env down or env check needs it.
	Why string
	// ResourceNames, when set, limits the rule to objects of these names (only for get and
	// the other verbs that name one object).
	ResourceNames []string
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
// Ingress their Services and Endpoints, an HTTPRoute's pulumi.com/waitFor await the route
// itself, every await the core Events of its namespace) and those `env check` makes
// (EndpointSlices). Of the Gateway API the group gets HTTPRoutes, and a get of the platform's
// Gateway alone (GatewayAPIGroup says why).
var EnvironmentsRules = []Rule{
	{[]string{""}, []string{"namespaces"}, manageVerbs, "env up makes the environment's namespace; env down deletes it", nil},
	{[]string{""}, []string{"configmaps", "services", "resourcequotas", "limitranges"}, manageVerbs, "the environment's objects", nil},
	{[]string{"apps"}, []string{"deployments"}, manageVerbs, "the apps", nil},
	{[]string{"policy"}, []string{"poddisruptionbudgets"}, manageVerbs, "the apps' disruption budgets", nil},
	{[]string{"networking.k8s.io"}, []string{"ingresses", "networkpolicies"}, manageVerbs, "routes and network policies", nil},
	{[]string{GatewayAPIGroup}, []string{"httproutes"}, manageVerbs, "routes on a platform that routes by the Gateway API; the route's await reads the route itself", nil},
	{[]string{GatewayAPIGroup}, []string{"gateways"}, []string{"get"}, "env check: the conditions of the platform's Gateway, which its routes attach to (that Gateway only: no list, no other)", []string{ingress.GatewayName}},
	{[]string{"apps"}, []string{"replicasets"}, readVerbs, "the Deployment await", nil},
	{[]string{""}, []string{"pods", "persistentvolumeclaims"}, readVerbs, "the Deployment await", nil},
	{[]string{""}, []string{"endpoints"}, readVerbs, "the Service and Ingress awaits", nil},
	{[]string{""}, []string{"events"}, readVerbs, "every await reports its object's events", nil},
	{[]string{"discovery.k8s.io"}, []string{"endpointslices"}, readVerbs, "env check: the apps' ready endpoints", nil},
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
	//
	// Object counts are sized for 20 apps (services: 20), each with one ConfigMap, Deployment,
	// Service, PodDisruptionBudget, NetworkPolicy and Ingress or HTTPRoute (by the platform's
	// routing), what the App component makes; ConfigMaps and NetworkPolicies have 5 more for the
	// namespace's own (kube-root-ca.crt, the default-deny policy) and a few of the environment's.
	// They bound what one environment keeps in the cluster's datastore (EKS: 8 GiB; k3s: its
	// server's 10 GiB volume; a ConfigMap holds at most 1 MiB, so 25 of them at most 25 MiB) and
	// in the controller's configuration (with the bounds of one Ingress, EnvironmentIngressRules
	// and EnvironmentIngressPaths, and of one HTTPRoute, EnvironmentRouteRules and
	// EnvironmentRouteMatches).
	EnvironmentQuota = map[string]string{
		"requests.cpu":    "2",
		"requests.memory": "2Gi",
		"limits.cpu":      "8",
		"limits.memory":   "8Gi",
		// The node disk an environment's containers may write (writable layers, logs and
		// emptyDirs): requests as much as requests.memory; limits as many containers at the
		// LimitRange's default limit (256 MiB) as limits.memory allows at its default (32). The
		// kubelet evicts a pod past its own limit (at most EnvironmentMaxLimits), and on a node
		// short of disk it evicts pods past their requests lowest priority first: an
		// environment's before the platform's.
		"requests.ephemeral-storage": "2Gi",
		"limits.ephemeral-storage":   "8Gi",
		"requests.storage":           "0",
		"persistentvolumeclaims":     "0",
		"pods":                       "40",
		"services":                   "20",
		"services.loadbalancers":     "0",
		"services.nodeports":         "0",
		// ReplicaSets are not counted (a quota on them would stop a rollout at its limit):
		// each Deployment keeps at most EnvironmentRevisionHistory old ones.
		"count/configmaps":                           "25",
		"count/deployments.apps":                     "20",
		"count/ingresses.networking.k8s.io":          "20",
		"count/httproutes.gateway.networking.k8s.io": "20",
		"count/networkpolicies.networking.k8s.io":    "25",
		"count/poddisruptionbudgets.policy":          "20",
	}
	// EnvironmentDefaultRequests and EnvironmentDefaultLimits are the LimitRange's container
	// defaults, for containers that state none (the quota needs every pod to state them).
	EnvironmentDefaultRequests = map[string]string{"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "64Mi"}
	EnvironmentDefaultLimits   = map[string]string{"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "256Mi"}
	// EnvironmentMaxLimits are the LimitRange's maxima of one container: 1 GiB of node disk, a
	// twentieth of the smallest node disk the program builds (nodeDiskSizeGib, at least 20).
	EnvironmentMaxLimits = map[string]string{"ephemeral-storage": "1Gi"}
)

// EnvironmentRevisionHistory is the most old ReplicaSets an environment's Deployment may keep
// (revisionHistoryLimit; Kubernetes' default is 10): with 20 Deployments, at most 80 ReplicaSets
// beside the current ones. Three are enough to roll back with kubectl rollout undo.
const EnvironmentRevisionHistory = 3

// EnvironmentIngressRules and EnvironmentIngressPaths bound one Ingress of an environment: at most
// 4 rules of at most 4 paths each. Traefik keeps a router and a service for every path of every
// Ingress of its class in memory (limited to 256 MiB) and rebuilds its whole configuration on
// every change: one environment adds at most 20 × 16 = 320 routers, where an app needs one.
const (
	EnvironmentIngressRules = 4
	EnvironmentIngressPaths = 4
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
	// GatewayNamespace and GatewayName name the platform's Gateway, the only parent an
	// environment's HTTPRoute may attach to.
	GatewayNamespace, GatewayName string
}

// NamespacePrefix starts every environment namespace; the policies confine the group to them.
const NamespacePrefix = envname.NamespacePrefix
