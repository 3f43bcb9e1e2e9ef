package guardrails

// EnvironmentsGroup is the Kubernetes group of environment stacks: the CI environments role's
// access entry puts it there on EKS, and the environments' client certificate names it on k3s.
const EnvironmentsGroup = "outside-in:environments"

// EnvironmentsRules are what an environment stack may do in the platform's cluster: create and
// delete namespaces (it makes one of its own) and manage, inside namespaces, the kinds of
// object an environment declares. No cluster-wide object besides namespaces, no RBAC, no
// secrets of other kinds of workload.
//
// Reading what those objects make is part of deploying them: pulumi-kubernetes waits for a
// Deployment by watching its ReplicaSets and Pods, and for a Service by its endpoints, and
// reports their events; without read access its watches fail and `env up` times out.
var EnvironmentsRules = []struct {
	Groups, Resources, Verbs []string
}{
	{[]string{""}, []string{"namespaces"}, manageVerbs},
	{[]string{""}, []string{"configmaps", "services", "resourcequotas", "limitranges"}, manageVerbs},
	{[]string{"apps"}, []string{"deployments"}, manageVerbs},
	{[]string{"policy"}, []string{"poddisruptionbudgets"}, manageVerbs},
	{[]string{"networking.k8s.io"}, []string{"ingresses", "networkpolicies"}, manageVerbs},
	{[]string{""}, []string{"pods", "pods/log", "endpoints", "events"}, readVerbs},
	{[]string{"apps"}, []string{"replicasets"}, readVerbs},
	{[]string{"discovery.k8s.io"}, []string{"endpointslices"}, readVerbs},
	{[]string{"events.k8s.io"}, []string{"events"}, readVerbs},
}

var (
	manageVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	readVerbs   = []string{"get", "list", "watch"}
)
