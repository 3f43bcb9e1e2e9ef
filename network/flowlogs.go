package network

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/iampolicy"
	"github.com/outside-in/outside-in/internal/naming"
)

// FlowLogsPolicy is what the flow-log service role may do: write log streams into the one log
// group, and list log groups, which the service does before it writes (VPC user guide, "IAM
// role for publishing flow logs to CloudWatch Logs"). logs:DescribeLogGroups cannot be scoped to
// one group: IAM evaluates it against the account's log-group:* ARN, so that is its resource.
func FlowLogsPolicy(logGroupArn string) iampolicy.Document {
	return iampolicy.New(
		iampolicy.Statement{
			Sid:    "WriteFlowLogs",
			Effect: "Allow",
			Action: []string{
				"logs:CreateLogStream",
				"logs:PutLogEvents",
				"logs:DescribeLogStreams",
			},
			Resource: []string{logGroupArn, logGroupArn + ":*"},
		},
		iampolicy.Statement{
			Sid:      "ListLogGroups",
			Effect:   "Allow",
			Action:   []string{"logs:DescribeLogGroups"},
			Resource: []string{accountLogGroups(logGroupArn)},
		},
	)
}

// accountLogGroups turns arn:aws:logs:<region>:<account>:log-group:<name> into the ARN of all of
// the account's log groups in the region.
func accountLogGroups(logGroupArn string) string {
	if i := strings.Index(logGroupArn, ":log-group:"); i >= 0 {
		return logGroupArn[:i] + ":log-group:*"
	}
	return logGroupArn
}

// flowLogsTrust lets only VPC flow logs of this account assume the role (the confused-deputy
// guard AWS recommends).
func flowLogsTrust(partition, region, account string) iampolicy.Document {
	doc := iampolicy.AssumeRole("vpc-flow-logs.amazonaws.com")
	doc.Statement[0].Condition = map[string]map[string]any{
		"StringEquals": {"aws:SourceAccount": account},
		"ArnLike":      {"aws:SourceArn": fmt.Sprintf("arn:%s:ec2:%s:%s:vpc-flow-log/*", partition, region, account)},
	}
	return doc
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
		AssumeRolePolicy: pulumi.String(flowLogsTrust(b.args.Partition, b.args.Region, b.args.AccountID).JSON()),
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
