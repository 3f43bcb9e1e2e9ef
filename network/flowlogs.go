package network

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/iampolicy"
	"github.com/outside-in/outside-in/internal/naming"
)

// FlowLogsPolicy is what the flow-log service role may do: write log streams into the one log
// group, nothing else.
func FlowLogsPolicy(logGroupArn string) iampolicy.Document {
	return iampolicy.New(iampolicy.Statement{
		Sid:    "WriteFlowLogs",
		Effect: "Allow",
		Action: []string{
			"logs:CreateLogStream",
			"logs:PutLogEvents",
			"logs:DescribeLogStreams",
		},
		Resource: []string{logGroupArn, logGroupArn + ":*"},
	})
}

// flowLogs sends the VPC's flow logs to a CloudWatch log group with a retention period.
func (b *builder) flowLogs() error {
	group, err := cloudwatch.NewLogGroup(b.ctx, naming.Child(b.name, "flow-logs"), &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(b.args.FlowLogsRetentionDays),
		Tags:            b.tags("flow-logs"),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("network: flow log group: %w", err)
	}
	role, err := iam.NewRole(b.ctx, naming.Child(b.name, "flow-logs"), &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(iampolicy.AssumeRole("vpc-flow-logs.amazonaws.com").JSON()),
		Tags:             b.tags("flow-logs"),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("network: flow log role: %w", err)
	}
	if _, err := iam.NewRolePolicy(b.ctx, naming.Child(b.name, "flow-logs"), &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: group.Arn.ApplyT(func(arn string) string {
			return FlowLogsPolicy(arn).JSON()
		}).(pulumi.StringOutput),
	}, b.parent); err != nil {
		return fmt.Errorf("network: flow log role policy: %w", err)
	}
	if _, err := ec2.NewFlowLog(b.ctx, naming.Child(b.name, "flow-log"), &ec2.FlowLogArgs{
		VpcId:                  b.vpcID,
		TrafficType:            pulumi.String(b.args.FlowLogs.trafficType()),
		LogDestinationType:     pulumi.String("cloud-watch-logs"),
		LogDestination:         group.Arn,
		IamRoleArn:             role.Arn,
		MaxAggregationInterval: pulumi.Int(60),
		Tags:                   b.tags("flow-logs"),
	}, b.parent); err != nil {
		return fmt.Errorf("network: flow log: %w", err)
	}
	return nil
}
