package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// targetsHop reads the health of every target of every target group (a classic ELB's
// instances): each group needs at least one healthy target. Then the node security group: it
// must admit the load balancer on every node port it sends to and on the health-check port, or
// requests (or health checks) time out however healthy the nodes are. Which targets should be
// healthy is the controller hop's question.
func (w *walk) targetsHop(ctx context.Context) Hop {
	if w.awsErr != nil {
		return awsFailure(HopTargets, w.awsErr)
	}
	if w.lb == nil {
		return skipped(HopTargets, "no load balancer (see load-balancer)")
	}
	if len(w.lb.groups) == 0 {
		return failed(HopTargets, []string{w.lb.name + " has no target group"},
			"the listeners forward to nothing", "run `pulumi up --refresh`: the stack declares a target group per node port")
	}
	var ev []string
	var broken *Hop
	for _, g := range w.lb.groups {
		if g.describeError != nil {
			return awsFailure(HopTargets, g.describeError)
		}
		healthy := 0
		var sick []targetHealth
		for _, t := range g.targets {
			if t.healthy() {
				healthy++
			} else {
				sick = append(sick, t)
			}
		}
		ev = append(ev, fmt.Sprintf("%s (health check %s): %d of %d targets healthy", g.name, g.healthCheck, healthy, len(g.targets)))
		for _, t := range g.targets {
			ev = append(ev, "  "+t.String())
		}
		switch {
		case broken != nil:
		case len(g.targets) == 0:
			h := failed(HopTargets, nil, "no target is registered: the nodes' autoscaling group is not attached to the target group, or has no instance",
				"run `pulumi up --refresh` (it attaches the node group's autoscaling group); `aws autoscaling describe-auto-scaling-groups` shows its instances")
			broken = &h
		case healthy == 0:
			r := explain(sick[0])
			h := failed(HopTargets, nil, "every target is unhealthy: "+r.cause, r.fix)
			broken = &h
		}
	}
	// The node security group first: a missing rule is the cause of unhealthy targets (health
	// checks time out), and of a path that fails with healthy ones (traffic times out).
	nodeEv, sgBroken := w.nodeSecurityGroupOnce(ctx)
	if sgBroken != nil {
		h := *sgBroken
		h.Evidence = append(slices.Clone(ev), h.Evidence...)
		return h
	}
	ev = append(ev, nodeEv...)
	if broken != nil {
		broken.Evidence = ev
		return *broken
	}
	return ok(HopTargets, ev...)
}

// nodeSecurityGroupOnce reads the node security group once per check.
func (w *walk) nodeSecurityGroupOnce(ctx context.Context) ([]string, *Hop) {
	if !w.nodeSGRead {
		w.nodeSGEvidence, w.nodeSGBroken = w.nodeSecurityGroup(ctx, HopTargets)
		w.nodeSGRead = true
	}
	return w.nodeSGEvidence, w.nodeSGBroken
}

func (t targetHealth) String() string {
	s := t.id
	if t.port != 0 {
		s += fmt.Sprintf(":%d", t.port)
	}
	s += " " + t.state
	if t.reason != "" {
		s += " (" + t.reason
		if t.description != "" {
			s += ": " + t.description
		}
		s += ")"
	} else if t.description != "" && !t.healthy() {
		s += " (" + t.description + ")"
	}
	return s
}

// reason is what an AWS health reason code means for this stack's path, and what to look at.
type reason struct{ cause, fix string }

// reasons translates ELBv2 target health reason codes
// (docs: TargetHealth.Reason) into this path's terms: the health check asks kube-proxy on the
// entry Service's healthCheckNodePort, which answers 200 only where a controller pod is ready.
var reasons = map[string]reason{
	"Target.FailedHealthChecks": {
		"kube-proxy on the node answers the health check with 503: no ready controller pod on it",
		"`kubectl -n traefik get pods -o wide` (are the Traefik pods ready, and on which nodes?) and `kubectl -n traefik describe pod`"},
	"Target.ResponseCodeMismatch": {
		"the health check got another answer than 200: no ready controller pod on the node, or the check is not on the healthCheckNodePort",
		"compare the target group's health check port with `kubectl -n traefik get svc traefik-entry -o jsonpath='{.spec.healthCheckNodePort}'`"},
	"Target.Timeout": {
		"the health check got no answer in time: the node security group does not admit the load balancer's on the health-check port, kube-proxy is not running, or the node is down",
		"check the node security group's rule from the load balancer's group on the healthCheckNodePort, and `kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide`"},
	"Target.NotRegistered": {
		"the instance is not registered with the target group (a node replaced outside the autoscaling group)",
		"`aws autoscaling describe-auto-scaling-groups` — the attachment registers the group's instances; `pulumi up --refresh` restores it"},
	"Target.NotInUse": {
		"the target's AZ is not one the load balancer serves (no public subnet of it)",
		"run `pulumi up --refresh` so that the load balancer has a public subnet in every AZ of the nodes"},
	"Target.InvalidState": {
		"the instance is stopped or terminated",
		"start it, or let the autoscaling group replace it: `aws ec2 describe-instances --instance-ids <id>`"},
	"Target.DeregistrationInProgress": {
		"the target is being deregistered (a node is leaving; it drains for 15 s)",
		"wait: the autoscaling group's new node registers in its place"},
	"Target.IpUnusable": {
		"the target's address is not usable by the load balancer",
		"check the node's network interface and subnet"},
	"Target.HealthCheckDisabled": {
		"the target group's health check is disabled",
		"run `pulumi up --refresh`: the stack declares the health check"},
	"Elb.RegistrationInProgress": {
		"the target is being registered",
		"wait: a new target passes after 2 checks 5 s apart (`--wait 5m`)"},
	"Elb.InitialHealthChecking": {
		"the load balancer is still running its first health checks",
		"wait: a new target passes after 2 checks 5 s apart (`--wait 5m`)"},
	"Elb.InternalError": {
		"the load balancer reported an internal error for the health check",
		"retry; if it persists, ask AWS support"},
}

// explain turns one unhealthy target's state into a cause and fix; a classic ELB says why in
// words, not codes.
func explain(t targetHealth) reason {
	if r, ok := reasons[t.reason]; ok {
		return r
	}
	d := strings.ToLower(t.description)
	switch {
	case strings.Contains(d, "stopped") || strings.Contains(d, "terminated") || strings.Contains(d, "not currently in the running"):
		return reasons["Target.InvalidState"]
	case strings.Contains(d, "registration is still in progress"):
		return reasons["Elb.RegistrationInProgress"]
	case strings.Contains(d, "unhealthythreshold") || strings.Contains(d, "failed"):
		return reasons["Target.FailedHealthChecks"]
	case t.state == "OutOfService" || t.state == "unhealthy":
		return reasons["Target.FailedHealthChecks"]
	case t.state == "unused" || t.state == "Unknown":
		return reasons["Target.NotRegistered"]
	}
	return reason{"the target is " + t.state, "`aws elbv2 describe-target-health` shows AWS's reason"}
}
