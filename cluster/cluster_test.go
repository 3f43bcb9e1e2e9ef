package cluster

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInstanceArch(t *testing.T) {
	for name, want := range map[string]Arch{
		"t3.medium": ArchX86, "t3a.large": ArchX86, "m6i.xlarge": ArchX86, "c6i.2xlarge": ArchX86,
		"c7i-flex.large": ArchX86, "m5.metal": ArchX86, "r7i.metal-24xl": ArchX86,
		"m7g.large": ArchArm64, "t4g.small": ArchArm64, "c6g.medium": ArchArm64, "r8g.4xlarge": ArchArm64,
		"c8g.large": ArchArm64, "m8g.metal-24xl": ArchArm64,
	} {
		got, err := InstanceArch(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	for _, bad := range []string{"", "t3", "t3.huge", "T3.large", "large", "t3.large ", "m7g.", ".large", "t3..large"} {
		_, err := InstanceArch(bad)
		assert.Error(t, err, "%q", bad)
	}
	// A real type of a family the program holds no data for is refused too, with the nearest
	// type it knows: the price and architecture data must cover every type a stack may use.
	_, err := InstanceArch("c6in.2xlarge")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did you mean c6i.2xlarge?")
	assert.Equal(t, "AL2023_ARM_64_STANDARD", amiType(ArchArm64))
	assert.Equal(t, "AL2023_x86_64_STANDARD", amiType(ArchX86))
}

func TestRenderKubeconfig(t *testing.T) {
	raw, err := RenderKubeconfig("demo", "https://ABC.gr7.eu-west-1.eks.amazonaws.com", "Q0E=", "eu-west-1",
		KubeconfigArgs{RoleArn: "arn:aws:iam::123456789012:role/admin", Profile: "work"})
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &cfg))
	assert.Equal(t, "demo", cfg["current-context"])
	cluster := cfg["clusters"].([]any)[0].(map[string]any)["cluster"].(map[string]any)
	assert.Equal(t, "https://ABC.gr7.eu-west-1.eks.amazonaws.com", cluster["server"])
	assert.Equal(t, "Q0E=", cluster["certificate-authority-data"])
	exec := cfg["users"].([]any)[0].(map[string]any)["user"].(map[string]any)["exec"].(map[string]any)
	assert.Equal(t, "aws", exec["command"])
	assert.Equal(t, []any{"--region", "eu-west-1", "eks", "get-token", "--cluster-name", "demo", "--output", "json",
		"--role-arn", "arn:aws:iam::123456789012:role/admin"}, exec["args"])
	assert.Equal(t, []any{map[string]any{"name": "AWS_PROFILE", "value": "work"}}, exec["env"])
	assert.NotContains(t, raw, "token\":", "the kubeconfig carries no credential")

	plain, err := RenderKubeconfig("demo", "https://x", "Q0E=", "eu-west-1", KubeconfigArgs{})
	require.NoError(t, err)
	assert.NotContains(t, plain, "--role-arn")
	assert.NotContains(t, plain, "AWS_PROFILE")
}

func TestTrustPolicies(t *testing.T) {
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(trustPolicy("eks.amazonaws.com").JSON()), &doc))
	st := doc["Statement"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"Service": []any{"eks.amazonaws.com"}}, st["Principal"])
	assert.Equal(t, []any{"sts:AssumeRole", "sts:TagSession"}, st["Action"])

	require.NoError(t, json.Unmarshal([]byte(trustPolicy("ec2.amazonaws.com").JSON()), &doc))
	st = doc["Statement"].([]any)[0].(map[string]any)
	assert.Equal(t, []any{"sts:AssumeRole"}, st["Action"])
	assert.Equal(t, "2012-10-17", doc["Version"])
}

func TestNodeSettings(t *testing.T) {
	assert.Equal(t, 1, MetadataHopLimit, "pods on the pod network must not reach instance metadata")
	assert.Equal(t, "gp3", RootVolumeType)
	assert.Equal(t, []string{"vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"}, Addons,
		"the Cluster Autoscaler's credentials come through Pod Identity")
}
