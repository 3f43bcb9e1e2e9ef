package plan

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two small plans written by hand: a subnet whose CIDR changes (replaced), a Deployment scaled
// (changed in place) and renamed in its metadata (replaced), a role whose policy document
// changes inside its JSON, a bucket added, a route removed, a resource moved under another
// parent (its URN changes: removed and added), and a secret that changes.
const baseJSON = `{"version":3,"deployment":{"resources":[
 {"urn":"urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev","type":"pulumi:pulumi:Stack","inputs":{},"outputs":{"url":"https://a.example.com"}},
 {"urn":"urn:pulumi:dev::p::aws:ec2/subnet:Subnet::net-0","custom":true,"type":"aws:ec2/subnet:Subnet",
  "inputs":{"cidrBlock":"10.0.0.0/20","mapPublicIpOnLaunch":false,"tags":{"Name":"net-0"}},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::web","custom":true,"type":"kubernetes:apps/v1:Deployment",
  "inputs":{"metadata":{"name":"web","labels":{"app.kubernetes.io/name":"web"}},"spec":{"replicas":2}},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::api","custom":true,"type":"kubernetes:apps/v1:Deployment",
  "inputs":{"metadata":{"name":"api"},"spec":{"replicas":2}},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::aws:iam/rolePolicy:RolePolicy::ci","custom":true,"type":"aws:iam/rolePolicy:RolePolicy",
  "inputs":{"role":"ci","policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}"},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::aws:ec2/route:Route::nat","custom":true,"type":"aws:ec2/route:Route","inputs":{"destinationCidrBlock":"0.0.0.0/0"},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::aws:kms/key:Key::k","custom":true,"type":"aws:kms/key:Key","inputs":{"description":"old"},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::aws:ssm/parameter:Parameter::token","custom":true,"type":"aws:ssm/parameter:Parameter",
  "inputs":{"name":"/p/token","value":{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","plaintext":"\"hunter2\""}},"outputs":{}}
]}}`

const headJSON = `{"version":3,"deployment":{"resources":[
 {"urn":"urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev","type":"pulumi:pulumi:Stack","inputs":{},"outputs":{"url":"https://b.example.com"}},
 {"urn":"urn:pulumi:dev::p::aws:ec2/subnet:Subnet::net-0","custom":true,"type":"aws:ec2/subnet:Subnet",
  "inputs":{"cidrBlock":"10.1.0.0/20","mapPublicIpOnLaunch":true,"tags":{"Name":"net-0"}},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::web","custom":true,"type":"kubernetes:apps/v1:Deployment",
  "inputs":{"metadata":{"name":"web","labels":{"app.kubernetes.io/name":"web"}},"spec":{"replicas":3}},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::api","custom":true,"type":"kubernetes:apps/v1:Deployment",
  "inputs":{"metadata":{"name":"api-v2"},"spec":{"replicas":2}},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::aws:iam/rolePolicy:RolePolicy::ci","custom":true,"type":"aws:iam/rolePolicy:RolePolicy",
  "inputs":{"role":"ci","policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::state/pr-*\"}]}"},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::aws:s3/bucket:Bucket::logs","custom":true,"type":"aws:s3/bucket:Bucket","inputs":{},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::outside-in:x:X$aws:kms/key:Key::k","custom":true,"type":"aws:kms/key:Key","inputs":{"description":"old"},"outputs":{}},
 {"urn":"urn:pulumi:dev::p::aws:ssm/parameter:Parameter::token","custom":true,"type":"aws:ssm/parameter:Parameter",
  "inputs":{"name":"/p/token","value":{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","plaintext":"\"correct horse\""}},"outputs":{}}
]}}`

func deployment(t *testing.T, s string) *Deployment {
	t.Helper()
	var d Deployment
	require.NoError(t, json.Unmarshal([]byte(s), &d))
	return &d
}

// byKind is a diff as kind → "type name" → changed property paths (⚠ marking those that force
// the replacement).
func byKind(d StackDiff) map[ChangeKind]map[string][]string {
	out := map[ChangeKind]map[string][]string{}
	for _, r := range d.Resources {
		if out[r.Kind] == nil {
			out[r.Kind] = map[string][]string{}
		}
		paths := []string{}
		for _, p := range r.Properties {
			if p.Replaces {
				paths = append(paths, p.Path+" ⚠")
			} else {
				paths = append(paths, p.Path)
			}
		}
		out[r.Kind][r.Type+" "+r.Name] = paths
	}
	return out
}

func TestDiffOfHandWrittenPlans(t *testing.T) {
	d := DiffPlans("dev", deployment(t, baseJSON), deployment(t, headJSON))
	assert.Equal(t, map[ChangeKind]map[string][]string{
		Added: {
			"aws:s3/bucket:Bucket logs": {},
			"aws:kms/key:Key k":         {}, // moved under a parent: a new URN
		},
		Removed: {
			"aws:ec2/route:Route nat": {},
			"aws:kms/key:Key k":       {},
		},
		Replaced: {
			"aws:ec2/subnet:Subnet net-0":       {"cidrBlock ⚠", "mapPublicIpOnLaunch"},
			"kubernetes:apps/v1:Deployment api": {"metadata.name ⚠"},
		},
		Changed: {
			"kubernetes:apps/v1:Deployment web": {"spec.replicas"},
			"aws:iam/rolePolicy:RolePolicy ci":  {"policy:Statement[0].Resource"},
			"aws:ssm/parameter:Parameter token": {"value"},
		},
	}, byKind(d))
	require.Len(t, d.Outputs, 1)
	assert.Equal(t, "url", d.Outputs[0].Path)
	// Order: added, replaced, changed, removed; by type, then URN.
	var order []string
	for _, r := range d.Resources {
		order = append(order, string(r.Kind)+" "+r.Name)
	}
	assert.Equal(t, []string{"added k", "added logs", "replaced net-0", "replaced api", "changed ci", "changed token", "changed web", "removed nat", "removed k"}, order)

	var b bytes.Buffer
	require.NoError(t, WriteDiffMarkdown(&b, []StackDiff{d, DiffPlans("prod", deployment(t, baseJSON), deployment(t, baseJSON))}))
	md := b.String()
	t.Log("\n" + md)
	assert.Contains(t, md, "#### `dev`: 2 added, 2 replaced, 3 changed, 2 removed, 1 stack outputs changed\n")
	assert.Contains(t, md, "- `aws:ec2/subnet:Subnet` `net-0`\n  - `cidrBlock` ⚠: `10.0.0.0/20` → `10.1.0.0/20`\n  - `mapPublicIpOnLaunch`: `false` → `true`\n")
	assert.Contains(t, md, "  - `policy:Statement[0].Resource`: `*` → `arn:aws:s3:::state/pr-*`\n")
	assert.Contains(t, md, "  - `value`: [secret] changed\n")
	assert.NotContains(t, md, "hunter2")
	assert.NotContains(t, md, "horse")
	assert.Contains(t, md, "No changes: `prod`.\n")
}

func TestDiffWithoutBaseOrHead(t *testing.T) {
	added := DiffPlans("new", nil, deployment(t, headJSON))
	assert.True(t, added.NoBase)
	assert.Equal(t, 7, added.Count(Added), "every resource but the stack")
	assert.Zero(t, added.Count(Removed)+added.Count(Changed)+added.Count(Replaced))
	gone := DiffPlans("old", deployment(t, baseJSON), nil)
	assert.Equal(t, 7, gone.Count(Removed))

	var b bytes.Buffer
	require.NoError(t, WriteDiffMarkdown(&b, []StackDiff{added}))
	assert.Contains(t, b.String(), "No plan at the base")
	b.Reset()
	require.NoError(t, WriteDiffMarkdown(&b, []StackDiff{DiffPlans("dev", deployment(t, baseJSON), deployment(t, baseJSON))}))
	assert.Equal(t, "No changes: the offline plan of every stack is the same at the base and at the head (`dev`).\n", b.String())
}

// What replaces, resource by resource: pulumi-kubernetes' rules (a ConfigMap's data unless its
// provider makes ConfigMaps mutable, a Service's clusterIP, a container's image in a Pod but not
// in a Deployment's template), a Helm release's name, an instance's user data only when it asks,
// and any change to a tls key.
func TestReplaceRules(t *testing.T) {
	k8s := func(typ string, providerInputs map[string]any, inputs map[string]any) (StateResource, map[string]StateResource) {
		prov := StateResource{URN: "urn:pulumi:dev::p::pulumi:providers:kubernetes::k", Type: "pulumi:providers:kubernetes", Inputs: providerInputs}
		r := StateResource{URN: "urn:pulumi:dev::p::" + typ + "::x", Type: typ, Provider: prov.URN + "::id", Inputs: inputs}
		return r, map[string]StateResource{prov.URN: prov, r.URN: r}
	}
	for _, c := range []struct {
		name     string
		typ      string
		provider map[string]any
		inputs   map[string]any
		path     string
		want     bool
	}{
		{"ConfigMap data", "kubernetes:core/v1:ConfigMap", map[string]any{}, nil, `data["a.conf"]`, true},
		{"ConfigMap data, mutable", "kubernetes:core/v1:ConfigMap", map[string]any{"enableConfigMapMutable": "true"}, nil, `data["a.conf"]`, false},
		{"ConfigMap data, mutable but immutable", "kubernetes:core/v1:ConfigMap", map[string]any{"enableConfigMapMutable": true}, map[string]any{"immutable": true}, "data.x", true},
		{"ConfigMap label", "kubernetes:core/v1:ConfigMap", nil, nil, `metadata.labels["a"]`, false},
		{"namespace", "kubernetes:networking.k8s.io/v1:NetworkPolicy", nil, nil, "metadata.namespace", true},
		{"Service clusterIP", "kubernetes:core/v1:Service", nil, nil, "spec.clusterIP", true},
		{"Service ports", "kubernetes:core/v1:Service", nil, nil, "spec.ports[0].port", false},
		{"Pod image", "kubernetes:core/v1:Pod", nil, nil, "spec.containers[1].image", true},
		{"Deployment image", "kubernetes:apps/v1:Deployment", nil, nil, "spec.template.spec.containers[1].image", false},
		{"Deployment selector", "kubernetes:apps/v1:Deployment", nil, nil, `spec.selector.matchLabels["app"]`, true},
		{"ClusterRoleBinding roleRef", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", nil, nil, "roleRef.name", true},
		{"Helm release name", "kubernetes:helm.sh/v3:Release", nil, nil, "name", true},
		{"Helm release values", "kubernetes:helm.sh/v3:Release", nil, nil, "values.replicas", false},
	} {
		r, news := k8s(c.typ, c.provider, c.inputs)
		_, got := replaceRules(r, news).replaces(c.path)
		assert.Equal(t, c.want, got, c.name)
	}

	instance := func(replaceOnChange bool) StateResource {
		return StateResource{Type: "aws:ec2/instance:Instance", Inputs: map[string]any{"userDataReplaceOnChange": replaceOnChange}}
	}
	_, got := replaceRules(instance(true), nil).replaces("userData")
	assert.True(t, got, "user data replaces an instance that asks for it")
	_, got = replaceRules(instance(false), nil).replaces("userData")
	assert.False(t, got, "user data is updated in place otherwise")
	_, got = replaceRules(instance(false), nil).replaces("instanceType")
	assert.False(t, got, "an instance type changes in place")
	_, got = replaceRules(instance(false), nil).replaces("rootBlockDevice.encrypted")
	assert.True(t, got)
	_, got = replaceRules(instance(false), nil).replaces("rootBlockDevice.volumeSize")
	assert.False(t, got)
	_, got = replaceRules(StateResource{Type: "aws:eks/nodeGroup:NodeGroup"}, nil).replaces("subnetIds[2]")
	assert.True(t, got, "a path covers what is under it")
	_, got = replaceRules(StateResource{Type: "aws:eks/nodeGroup:NodeGroup"}, nil).replaces("scalingConfig.desiredSize")
	assert.False(t, got)
	_, got = replaceRules(StateResource{Type: "tls:index/privateKey:PrivateKey"}, nil).replaces("rsaBits")
	assert.True(t, got, "tls resources have no update")
	_, got = replaceRules(StateResource{Type: "aws:s3/bucket:Bucket"}, nil).replaces("bucket")
	assert.False(t, got, "a type outside the table is reported as changed")
}

func TestPropertyPaths(t *testing.T) {
	props := diffValues("", map[string]any{"a": map[string]any{"b.c/d": 1, "e": []any{1, 2}}}, map[string]any{"a": map[string]any{"b.c/d": 2, "e": []any{1}, "f": "x"}}, false, nil)
	var paths []string
	for _, p := range props {
		paths = append(paths, p.Path)
	}
	assert.Equal(t, []string{`a["b.c/d"]`, "a.e[1]", "a.f"}, paths)
	assert.True(t, props[1].HasOld && !props[1].HasNew, "a removed element")
	assert.True(t, !props[2].HasOld && props[2].HasNew, "an added key")
	assert.Equal(t, "`aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa… (100 characters)` → `b`",
		describe(PropertyChange{Path: "x", Old: strings.Repeat("a", 100), New: "b", HasOld: true, HasNew: true}))
	assert.Equal(t, "removed (was `#cloud-config… (3 lines, 30 characters)`)",
		describe(PropertyChange{Path: "userData", Old: "#cloud-config\nruncmd:\n  - true", HasOld: true}))
}

// Real plans: the dev stack with another VPC range replaces the VPC and every subnet and changes
// what holds the ranges in place; more replicas of an app change its Deployment in place; and a
// stack with generated keys (k3s), planned twice, shows no change at all, as Pulumi keeps a
// key in the state while its inputs stay.
func TestDiffOfRealPlans(t *testing.T) {
	dir := filepath.Join("..", "..")
	dev, err := LoadStack(filepath.Join(dir, "Pulumi.yaml"), filepath.Join(dir, "Pulumi.dev.yaml"))
	require.NoError(t, err)
	plan := func(s Stack) *Deployment {
		t.Helper()
		res, err := Run(s, Options{})
		require.NoError(t, err)
		d := res.State()
		// Through JSON, as `plan diff` reads it.
		b, err := json.Marshal(d)
		require.NoError(t, err)
		var out Deployment
		require.NoError(t, json.Unmarshal(b, &out))
		return &out
	}
	with := func(s Stack, key, value string) Stack {
		c := map[string]string{}
		for k, v := range s.Config {
			c[k] = v
		}
		c[key] = value
		s.Config = c
		return s
	}
	base := plan(dev)

	cidr := DiffPlans("dev", base, plan(with(dev, "outside-in:vpcCidr", "10.64.0.0/16")))
	kinds := byKind(cidr)
	assert.Equal(t, map[string][]string{
		"aws:ec2/vpc:Vpc network-vpc":             {"cidrBlock ⚠"},
		"aws:ec2/subnet:Subnet network-private-0": {"cidrBlock ⚠"},
		"aws:ec2/subnet:Subnet network-private-1": {"cidrBlock ⚠"},
		"aws:ec2/subnet:Subnet network-public-0":  {"cidrBlock ⚠"},
		"aws:ec2/subnet:Subnet network-public-1":  {"cidrBlock ⚠"},
	}, kinds[Replaced])
	assert.Equal(t, []string{"cidrIpv4"}, kinds[Changed]["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule network-nat-in"])
	assert.Contains(t, kinds[Changed], "kubernetes:networking.k8s.io/v1:NetworkPolicy ingress-entry-policy")
	assert.Empty(t, kinds[Added])
	assert.Empty(t, kinds[Removed])

	apps := DiffPlans("dev", base, plan(with(dev, "outside-in:apps", `[{"name":"web","replicas":4}]`)))
	kinds = byKind(apps)
	assert.Empty(t, kinds[Replaced])
	assert.Equal(t, []string{"spec.replicas"}, kinds[Changed]["kubernetes:apps/v1:Deployment web-deployment"])
	var md bytes.Buffer
	require.NoError(t, WriteDiffMarkdown(&md, []StackDiff{cidr, apps}))
	t.Log("\n" + md.String())

	k3s, err := LoadStack(filepath.Join(dir, "Pulumi.yaml"), filepath.Join(dir, "Pulumi.k3s.yaml"))
	require.NoError(t, err)
	again := DiffPlans("k3s", plan(k3s), plan(k3s))
	assert.True(t, again.Empty(), "k3s planned twice: %+v %+v", again.Resources, again.Outputs)
}
