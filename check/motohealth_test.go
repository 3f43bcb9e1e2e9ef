package check_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMotoTargetHealth pins what moto answers for targets that are not serving, which the
// fault table relies on: moto runs no health checks, so it never says "unhealthy"; a running
// registered instance is healthy, a stopped one unused (Target.InvalidState), a deregistered
// one unused (Target.NotRegistered, and only when asked for by id), a terminated one draining
// (Target.DeregistrationInProgress).
func TestMotoTargetHealth(t *testing.T) {
	cfg := startMoto(t, "eu-west-1")
	ctx := t.Context()
	e2, lb := ec2.NewFromConfig(cfg), elbv2.NewFromConfig(cfg)
	vpc, err := e2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	require.NoError(t, err)
	subnet, err := e2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.9.0.0/24"), AvailabilityZone: aws.String("eu-west-1a")})
	require.NoError(t, err)
	run, err := e2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(4), MaxCount: aws.Int32(4), SubnetId: subnet.Subnet.SubnetId})
	require.NoError(t, err)
	require.Len(t, run.Instances, 4)
	tg, err := lb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("moto-health"), Port: aws.Int32(30443),
		Protocol: elbv2types.ProtocolEnumHttp, VpcId: vpc.Vpc.VpcId, TargetType: elbv2types.TargetTypeEnumInstance})
	require.NoError(t, err)
	arn := tg.TargetGroups[0].TargetGroupArn
	var targets []elbv2types.TargetDescription
	ids := make([]string, 4)
	for i, inst := range run.Instances {
		ids[i] = aws.ToString(inst.InstanceId)
		targets = append(targets, elbv2types.TargetDescription{Id: inst.InstanceId})
	}
	_, err = lb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: arn, Targets: targets})
	require.NoError(t, err)
	_, err = e2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids[1:2]})
	require.NoError(t, err)
	_, err = lb.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: arn, Targets: targets[2:3]})
	require.NoError(t, err)
	_, err = e2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids[3:4]})
	require.NoError(t, err)

	listed, err := lb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: arn})
	require.NoError(t, err)
	got := map[string]string{}
	for _, d := range listed.TargetHealthDescriptions {
		got[aws.ToString(d.Target.Id)] = string(d.TargetHealth.State) + " " + string(d.TargetHealth.Reason)
	}
	assert.Equal(t, "healthy ", got[ids[0]], "running")
	assert.Equal(t, "unused Target.InvalidState", got[ids[1]], "stopped")
	assert.NotContains(t, got, ids[2], "a deregistered target is not listed")

	asked, err := lb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: arn, Targets: targets[2:]})
	require.NoError(t, err)
	require.Len(t, asked.TargetHealthDescriptions, 2)
	for _, d := range asked.TargetHealthDescriptions {
		got[aws.ToString(d.Target.Id)] = string(d.TargetHealth.State) + " " + string(d.TargetHealth.Reason)
	}
	assert.Equal(t, "unused Target.NotRegistered", got[ids[2]], "deregistered, asked for by id")
	assert.Equal(t, "draining Target.DeregistrationInProgress", got[ids[3]], "terminated")
	t.Logf("moto's target health: running %q, stopped %q, deregistered %q, terminated %q", got[ids[0]], got[ids[1]], got[ids[2]], got[ids[3]])
	for _, state := range got {
		assert.NotContains(t, state, "unhealthy", "moto runs no health checks")
	}
}
