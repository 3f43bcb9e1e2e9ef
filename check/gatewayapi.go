package check

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/outside-in/outside-in/ingress"
)

// The Gateway API objects the ingress hop reads in gateway routing, through the dynamic client:
// the project does not depend on the Gateway API's Go types (their module needs newer
// Kubernetes libraries than the project's).
var (
	gatewayResource   = schema.GroupVersionResource{Group: ingress.GatewayAPIGroup, Version: "v1", Resource: "gateways"}
	httpRouteResource = schema.GroupVersionResource{Group: ingress.GatewayAPIGroup, Version: "v1", Resource: "httproutes"}
)

// The conditions the check reads, as the Gateway API names them.
const (
	condAccepted     = "Accepted"
	condProgrammed   = "Programmed"
	condResolvedRefs = "ResolvedRefs"
)

// gatewayObject is the part of a Gateway the check reads.
type gatewayObject struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Listeners []listenerSpec `json:"listeners"`
	} `json:"spec"`
	Status struct {
		Addresses []struct {
			Value string `json:"value"`
		} `json:"addresses"`
		Conditions []metav1.Condition `json:"conditions"`
		Listeners  []listenerStatus   `json:"listeners"`
	} `json:"status"`
}

type listenerStatus struct {
	Name           string             `json:"name"`
	AttachedRoutes int32              `json:"attachedRoutes"`
	Conditions     []metav1.Condition `json:"conditions"`
}

type listenerSpec struct {
	Name          string  `json:"name"`
	Hostname      *string `json:"hostname"`
	Port          int32   `json:"port"`
	AllowedRoutes *struct {
		Namespaces *struct {
			From     string                `json:"from"`
			Selector *metav1.LabelSelector `json:"selector"`
		} `json:"namespaces"`
	} `json:"allowedRoutes"`
}

// httpRoute is the part of an HTTPRoute the check reads.
type httpRoute struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ParentRefs []parentRef `json:"parentRefs"`
		Hostnames  []string    `json:"hostnames"`
		Rules      []struct {
			Matches []struct {
				Path *struct {
					Type  string `json:"type"`
					Value string `json:"value"`
				} `json:"path"`
			} `json:"matches"`
			BackendRefs []struct {
				Group     *string `json:"group"`
				Kind      *string `json:"kind"`
				Name      string  `json:"name"`
				Namespace *string `json:"namespace"`
			} `json:"backendRefs"`
		} `json:"rules"`
	} `json:"spec"`
	Status struct {
		Parents []struct {
			ParentRef      parentRef          `json:"parentRef"`
			ControllerName string             `json:"controllerName"`
			Conditions     []metav1.Condition `json:"conditions"`
		} `json:"parents"`
	} `json:"status"`
}

type parentRef struct {
	Group     *string `json:"group"`
	Kind      *string `json:"kind"`
	Namespace *string `json:"namespace"`
	Name      string  `json:"name"`
}

// names is whether the reference, made from a route in routeNS, is the Gateway ns/name.
func (p parentRef) names(routeNS, ns, name string) bool {
	return valueOr(p.Group, ingress.GatewayAPIGroup) == ingress.GatewayAPIGroup && valueOr(p.Kind, "Gateway") == "Gateway" &&
		valueOr(p.Namespace, routeNS) == ns && p.Name == name
}

func (p parentRef) String() string {
	return fmt.Sprintf("%s %s/%s", valueOr(p.Kind, "Gateway"), valueOr(p.Namespace, "(its own namespace)"), p.Name)
}

// valueOr is *s, or def for a field left out.
func valueOr(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}

// gatewayNamespace is where the platform's Gateway is: the controller's namespace
// (ingress.GatewayNamespace), as the stack exports it.
func (w *walk) gatewayNamespace() string { return w.t.controllerNS }

func (w *walk) gatewayRef() string { return w.gatewayNamespace() + "/" + ingress.GatewayName }

// readGateway reads the platform's Gateway once for every host.
func (w *walk) readGateway(ctx context.Context) (*gatewayObject, error) {
	if !w.gatewayRead {
		w.gatewayRead = true
		u, err := w.kube.dyn.Resource(gatewayResource).Namespace(w.gatewayNamespace()).Get(ctx, ingress.GatewayName, metav1.GetOptions{})
		if err != nil {
			w.gatewayErr = err
		} else {
			w.gateway = &gatewayObject{}
			w.gatewayErr = fromUnstructured(u, w.gateway)
		}
	}
	return w.gateway, w.gatewayErr
}

func fromUnstructured(u *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return fmt.Errorf("reading %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}
func reasonOf(c *metav1.Condition) string {
	if c == nil {
		return ""
	}
	return c.Reason
}

// notTrue is "" for a condition that is True; otherwise what is wrong with it, named with its
// reason and message, and from whom when from is given: "not Accepted by Gateway traefik/outside-in:
// NotAllowedByListeners — <message>".
func notTrue(conds []metav1.Condition, cond, from string) string {
	c := meta.FindStatusCondition(conds, cond)
	switch {
	case c == nil:
		return strings.TrimSpace("no " + cond + " condition " + from)
	case c.Status == metav1.ConditionTrue:
		return ""
	}
	s := "not " + cond
	if c.Status != metav1.ConditionFalse {
		s += " (" + string(c.Status) + ")"
	}
	if from != "" {
		s += " " + from
	}
	s += ": " + c.Reason
	if c.Message != "" {
		s += " — " + c.Message
	}
	return s
}

// conditionList is the conditions' statuses, a reason after each that is not True:
// "Accepted True, Programmed False (Invalid)".
func conditionList(conds []metav1.Condition, types ...string) string {
	var out []string
	for _, t := range types {
		c := meta.FindStatusCondition(conds, t)
		switch {
		case c == nil:
			out = append(out, t+" missing")
		case c.Status == metav1.ConditionTrue:
			out = append(out, t+" True")
		default:
			out = append(out, fmt.Sprintf("%s %s (%s)", t, c.Status, c.Reason))
		}
	}
	return strings.Join(out, ", ")
}

// listenerFor is the listener whose hostname matches host most specifically: an exact hostname
// before a wildcard, a longer wildcard before a shorter one, a listener without a hostname last.
// A wildcard is a suffix match (*.example.com takes a.example.com and a.b.example.com).
func listenerFor(listeners []listenerSpec, host string) (listenerSpec, bool) {
	best, bestScore := listenerSpec{}, -1
	for _, l := range listeners {
		score := -1
		hostname := strings.ToLower(valueOr(l.Hostname, ""))
		switch {
		case hostname == "":
			score = 0
		case hostname == host:
			score = 1 << 16
		case strings.HasPrefix(hostname, "*.") && strings.HasSuffix(host, hostname[1:]):
			score = len(hostname)
		}
		if score > bestScore {
			best, bestScore = l, score
		}
	}
	return best, bestScore >= 0
}

// allowedNamespaces is the listener's namespace selector for routes, as kubectl writes a
// selector ("!outside-in/environment"), or its from (Same, All) without one.
func allowedNamespaces(l listenerSpec) string {
	if l.AllowedRoutes == nil || l.AllowedRoutes.Namespaces == nil {
		return ""
	}
	n := l.AllowedRoutes.Namespaces
	if n.From == "Selector" && n.Selector != nil {
		return metav1.FormatLabelSelector(n.Selector)
	}
	return n.From
}

// routeFor is the HTTPRoute that names host among its hostnames, and how many routes were seen.
func (w *walk) routeFor(ctx context.Context, host string) (*httpRoute, int, error) {
	list, err := w.kube.dyn.Resource(httpRouteResource).Namespace(w.t.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("listing HTTPRoutes: %w", err)
	}
	for i := range list.Items {
		var r httpRoute
		if err := fromUnstructured(&list.Items[i], &r); err != nil {
			return nil, 0, err
		}
		for _, name := range r.Spec.Hostnames {
			if strings.EqualFold(name, host) {
				return &r, len(list.Items), nil
			}
		}
	}
	return nil, len(list.Items), nil
}

// routeBackend is the Service the route's rule for "/" sends to: a rule without matches, or one
// matching the path prefix "/".
func routeBackend(r *httpRoute) (ns, name string) {
	for _, rule := range r.Spec.Rules {
		all := len(rule.Matches) == 0
		for _, m := range rule.Matches {
			all = all || m.Path == nil || (m.Path.Type == "PathPrefix" && m.Path.Value == "/")
		}
		if !all {
			continue
		}
		for _, b := range rule.BackendRefs {
			if valueOr(b.Group, "") == "" && valueOr(b.Kind, "Service") == "Service" {
				return valueOr(b.Namespace, r.Namespace), b.Name
			}
		}
		return r.Namespace, ""
	}
	return r.Namespace, ""
}
