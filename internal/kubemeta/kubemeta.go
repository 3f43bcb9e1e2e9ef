// Package kubemeta holds the Kubernetes conventions every in-cluster layer shares: the Pod
// Security labels of the namespaces the program owns, and the labels that mark its objects.
package kubemeta

// PartOf is the app.kubernetes.io/part-of label value of every object the program declares.
const PartOf = "outside-in"

// PodSecurityLabels enforce the Pod Security Standard "restricted" on a namespace, and audit and
// warn at the same level.
func PodSecurityLabels() map[string]string {
	return map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/audit":           "restricted",
		"pod-security.kubernetes.io/warn":            "restricted",
	}
}

// Merge returns the union of label maps; later maps win.
func Merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// The PriorityClasses the platform declares (guardrails.PriorityClasses says why each has its
// value). The platform's own pods name PlatformPriorityClass; an environment's pods run at
// EnvironmentsPriorityClass, the only class the admission policies let them name.
const (
	PlatformPriorityClass     = "outside-in-platform"
	EnvironmentsPriorityClass = "outside-in-environments"
)
