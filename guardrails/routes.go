package guardrails

import (
	"fmt"
	"regexp"

	"github.com/outside-in/outside-in/ingress"
)

// GatewayAPIGroup is the Gateway API's group. Of its kinds the environments group is granted
// HTTPRoutes alone: the platform owns the GatewayClass, the Gateway and its listeners, and no
// environment may grant itself another namespace's objects (ReferenceGrant), add listeners to
// the Gateway (ListenerSet), or set how the controller reaches a backend (BackendTLSPolicy).
const GatewayAPIGroup = ingress.GatewayAPIGroup

// EnvironmentRouteHostnames, EnvironmentRouteRules and EnvironmentRouteMatches bound one
// HTTPRoute of an environment: at most 4 hostnames and 4 rules of at most 4 matches each.
// Traefik's Gateway provider builds a router for every match of every rule of a route on each
// listener it attaches to (an environment's route attaches only to the environments' listener),
// each router's rule naming every hostname of the route: one environment adds at most
// 20 × 16 = 320 routers, as with Ingresses (EnvironmentIngressRules), each of at most 4 hosts.
const (
	EnvironmentRouteHostnames = 4
	EnvironmentRouteRules     = 4
	EnvironmentRouteMatches   = 4
)

// environmentHostVariables are the variables of a policy that judges an environment's hosts:
// env, the environment's name (its namespace without the prefix; the policy runs only in
// environment namespaces), and host, the pattern every host of the environment matches:
// `<app>-<env>.<envDomain>`, one label under envDomain, where <app> has no dash (the program's
// app names in environments have none), so that no environment can claim a platform host,
// another environment's, or a host under one of its own.
func environmentHostVariables(p Platform) []Variable {
	return []Variable{
		{"env", "request.namespace.substring(" + fmt.Sprint(len(NamespacePrefix)) + ")"},
		{"host", "'^[a-z0-9]+-' + variables.env + '\\\\." + celString(regexp.QuoteMeta(p.EnvDomain)) + "$'"},
	}
}

// ownService is the CEL condition that the backend reference b names a Service of the route's
// own namespace: core group, kind Service, no namespace or the route's (the API's defaults are
// the core group, Service and the route's namespace).
func ownService(b string) string {
	return fmt.Sprintf("(!has(%[1]s.group) || %[1]s.group == '') && (!has(%[1]s.kind) || %[1]s.kind == 'Service') && (!has(%[1]s.namespace) || %[1]s.namespace == request.namespace)", b)
}

// refText is the CEL text of a reference r: <kind>[.<group>] <namespace>/<name>, with the API's
// defaults (kind and group given as defKind and defGroup, the namespace the route's) for
// absent fields.
func refText(r, defKind, defGroup string) string {
	return fmt.Sprintf("(has(%[1]s.kind) ? %[1]s.kind : '%[2]s') + ((has(%[1]s.group) ? %[1]s.group : '%[3]s') == '' ? '' : '.' + (has(%[1]s.group) ? %[1]s.group : '%[3]s')) + ' ' + "+
		"(has(%[1]s.namespace) ? %[1]s.namespace : request.namespace) + '/' + %[1]s.name", r, defKind, defGroup)
}

// everyFilter is the CEL condition that cond holds for every filter f of the route: those of its
// rules and those of its rules' backends.
func everyFilter(cond string) string {
	return "!has(object.spec.rules) || object.spec.rules.all(r, (!has(r.filters) || r.filters.all(f, " + cond + ")) && " +
		"(!has(r.backendRefs) || r.backendRefs.all(b, !has(b.filters) || b.filters.all(f, " + cond + "))))"
}

// routePolicy confines an environment's HTTPRoutes as ingressPolicy confines its Ingresses: its
// own hosts, at least one (a route without hostnames takes every host of its listener); the
// platform's Gateway as the only parent; Services of its own namespace as the only backends, of
// the rules and of mirror filters (Traefik would also take its TraefikServices, api@internal
// among them, and a ReferenceGrant elsewhere opens another namespace's Services); no
// ExtensionRef filter (it names a Traefik Middleware, which the platform offers environments
// none of); and a bounded size.
func routePolicy(p Platform) AdmissionPolicy {
	name := "'HTTPRoute ' + object.metadata.name + ': "
	gateway := p.GatewayNamespace + "/" + p.GatewayName
	parent := fmt.Sprintf("(!has(x.group) || x.group == %q) && (!has(x.kind) || x.kind == 'Gateway') && has(x.namespace) && x.namespace == %q && x.name == %q",
		GatewayAPIGroup, p.GatewayNamespace, p.GatewayName)
	return AdmissionPolicy{
		Name:           "outside-in-environments-routes",
		Why:            "environments route only their own hosts under envDomain, through the platform's Gateway, to their own Services",
		InEnvironments: true,
		Match:          []Match{{Groups: []string{GatewayAPIGroup}, Resources: []string{"httproutes"}, Operations: []string{"CREATE", "UPDATE"}}},
		Variables:      environmentHostVariables(p),
		Validations: []Validation{
			{
				Expression: "has(object.spec.hostnames) && size(object.spec.hostnames) > 0",
				Message:    name + "hostnames must list its hosts <app>-' + variables.env + '." + p.EnvDomain + " (a route without hostnames takes every host of the listener)'",
			},
			{
				Expression: "!has(object.spec.hostnames) || object.spec.hostnames.all(h, h.matches(variables.host))",
				Message: name + "every hostname must be <app>-' + variables.env + '." + p.EnvDomain + " (one label under " + p.EnvDomain + ", of this environment), not ' + " +
					"object.spec.hostnames.filter(h, !h.matches(variables.host)).join(', ')",
			},
			{
				Expression: fmt.Sprintf("(!has(object.spec.hostnames) || size(object.spec.hostnames) <= %d) && (!has(object.spec.rules) || (size(object.spec.rules) <= %d && object.spec.rules.all(r, !has(r.matches) || size(r.matches) <= %d)))",
					EnvironmentRouteHostnames, EnvironmentRouteRules, EnvironmentRouteMatches),
				Message: fmt.Sprintf(name+"at most %d hostnames and %d rules of at most %d matches each (the controller builds a router for every match, and what it holds for one environment is bounded), not ' + "+
					"string(has(object.spec.hostnames) ? size(object.spec.hostnames) : 0) + ' hostnames and ' + string(has(object.spec.rules) ? size(object.spec.rules) : 0) + ' rules of ' + "+
					"(has(object.spec.rules) ? object.spec.rules.map(r, string(has(r.matches) ? size(r.matches) : 0)).join(', ') : '0') + ' matches'",
					EnvironmentRouteHostnames, EnvironmentRouteRules, EnvironmentRouteMatches),
			},
			{
				Expression: "!has(object.spec.parentRefs) || object.spec.parentRefs.all(x, " + parent + ")",
				Message: name + "parentRefs may name only the platform\\'s Gateway " + gateway + ", not ' + " +
					"object.spec.parentRefs.filter(x, !(" + parent + ")).map(x, " + refText("x", "Gateway", GatewayAPIGroup) + ").join(', ')",
			},
			{
				Expression: "!has(object.spec.rules) || object.spec.rules.all(r, !has(r.backendRefs) || r.backendRefs.all(b, " + ownService("b") + "))",
				Message: name + "backendRefs may name only Services of its own namespace ' + request.namespace + ', not ' + " +
					"object.spec.rules.map(r, has(r.backendRefs) ? r.backendRefs.filter(b, !(" + ownService("b") + ")).map(b, " + refText("b", "Service", "") + ").join(', ') : '').filter(s, s != '').join(', ')",
			},
			{
				Expression: everyFilter("!has(f.requestMirror) || (" + ownService("f.requestMirror.backendRef") + ")"),
				Message:    name + "a RequestMirror filter may mirror only to a Service of its own namespace ' + request.namespace",
			},
			{
				Expression: everyFilter("f.type != 'ExtensionRef'"),
				Message:    name + "an environment may not use filters of type ExtensionRef (they name the controller\\'s middlewares)'",
			},
		},
	}
}
