package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/guardrails"
)

// awsCall finds the AWS calls check makes through its clients: c.elbv2.DescribeListeners(...)
// and elbv2.NewDescribeLoadBalancersPaginator(...).
var awsCall = regexp.MustCompile(`(?:\.(route53|acm|elbv2|elb|ec2)\.([A-Z][A-Za-z]+)\(|\b(route53|acm|elbv2|elb|ec2)\.New([A-Z][A-Za-z]+)Paginator\()`)

// iamPrefix is each SDK client's service prefix in IAM.
var iamPrefix = map[string]string{"route53": "route53", "acm": "acm", "elbv2": "elasticloadbalancing", "elb": "elasticloadbalancing", "ec2": "ec2"}

// Every AWS call `check` makes is one the environments role may make (CheckReadPolicy): else
// `env check` in a pull request's job would meet AccessDenied where it should name the hop that
// fails. Read from check's own source, so a new call without its grant fails here.
func TestEnvironmentsRoleMayMakeEveryCallOfCheck(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "check", "*.go"))
	require.NoError(t, err)
	var granted []string
	for _, st := range guardrails.CheckReadPolicy("aws", "eu-central-1", "123456789012", "Z1").Statement {
		granted = append(granted, st.Action...)
	}
	calls := map[string]bool{}
	for _, f := range files {
		if filepath.Ext(f) != ".go" || regexp.MustCompile(`_test\.go$`).MatchString(f) {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range awsCall.FindAllStringSubmatch(string(src), -1) {
			client, op := m[1], m[2]
			if client == "" {
				client, op = m[3], m[4]
			}
			calls[iamPrefix[client]+":"+op] = true
		}
	}
	require.GreaterOrEqual(t, len(calls), 10, "check's AWS calls were found")
	for call := range calls {
		assert.True(t, slices.Contains(granted, call), "check calls %s, which the environments role is not granted", call)
	}
	t.Logf("check's AWS calls, all granted: %d", len(calls))
}
