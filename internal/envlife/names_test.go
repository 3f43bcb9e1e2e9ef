package envlife

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/motoserver"
	"github.com/outside-in/outside-in/internal/published"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Run(m)) }

// fileStacks are the names of the stacks in the world's backend, read from its files.
func (w *world) fileStacks() []string {
	w.t.Helper()
	names, err := backendStackNames(context.Background(), &url.URL{Scheme: "file", Path: w.backendDir}, "envlife-test")
	require.NoError(w.t, err)
	return names
}

// A stack file the caller may not read (the platform's, to the environments role) or that a
// pull request wrote to break the parse must not stop env down or either sweep: stacks are
// listed by name, and the trusted sweep never opens a pull request's file. The CLI's own
// listing (`pulumi stack ls`) reads every file and fails on either.
func TestSweepsAndDownListByNameAlone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now().UTC()
	past := now.Add(-100 * time.Hour)
	w.up("pr-5", past, time.Hour)
	w.up("pr-6", now, 24*time.Hour)
	w.up("dev-dora", past, time.Hour)
	folder := filepath.Join(w.backendDir, ".pulumi", "stacks", "envlife-test")
	require.NoError(t, os.WriteFile(filepath.Join(folder, "pr-666.json"), []byte("{ a forged checkpoint"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(folder, "unreadable.json"), []byte("not a checkpoint"), 0o644))
	_, err := w.workspace().ListStacks(context.Background())
	require.Error(t, err, "the CLI's listing fails on a file it cannot read: the case this guards against")

	trusted, err := w.manager(now).Reap(context.Background(), ReapOptions{Scope: ScopeTrusted, Platform: testPlatform})
	require.NoError(t, err, "the trusted sweep")
	got := verdicts(trusted)
	assert.Equal(t, Removed, got["dev-dora"].Outcome)
	assert.Contains(t, got["pr-666"].Reason, "a pull request's stack", "decided by name, its file unopened")
	assert.Equal(t, Kept, got["unreadable"].Outcome, "a file the sweep cannot read is kept")

	prs, err := w.manager(now).Reap(context.Background(), ReapOptions{Scope: ScopePullRequests, Platform: testPlatform})
	require.NoError(t, err, "the pull requests' sweep")
	got = verdicts(prs)
	assert.Equal(t, Removed, got["pr-5"].Outcome, got["pr-5"].Reason)
	assert.Equal(t, Kept, got["unreadable"].Outcome)
	assert.Contains(t, got["unreadable"].Reason, "not a pull request's stack")

	require.NoError(t, w.manager(now).Down(context.Background(), "pr-6"), "env down beside files it cannot read")
	assert.ElementsMatch(t, []string{"pr-666", "unreadable"}, w.fileStacks())
	t.Logf("trusted:\n%s\npull requests:\n%s", render(trusted), render(prs))
}

// A platform that publishes nothing while its stack is still in the backend is not gone: a
// read in the wrong region, say. The environment stays, and the error says what to check.
func TestAPlatformStillInTheBackendIsNotGone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now().UTC()
	w.up("pr-7", now.Add(-100*time.Hour), time.Hour)
	w.plainStack("platform", map[string]string{"outside-in:envDomain": "env.test"}, nil)
	m := w.manager(now)
	m.Platforms = published.Fixed{}
	err := m.Down(context.Background(), "pr-7")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is still in the backend: is AWS_REGION the platform's region?")
	assert.Contains(t, w.fileStacks(), "pr-7", "the environment is kept")
}

// On an S3 backend the names come from s3:ListBucket under the project's stacks folder (moto
// here), the bucket's path prefix and the CLI's URL options included.
func TestS3BackendNames(t *testing.T) {
	ctx := context.Background()
	cfg := motoserver.Start(t, "eu-central-1")
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("state"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuCentral1}})
	require.NoError(t, err)
	for _, key := range []string{"team/.pulumi/stacks/outside-in/platform.json", "team/.pulumi/stacks/outside-in/platform.json.bak",
		"team/.pulumi/stacks/outside-in/pr-17.json.gz", "team/.pulumi/stacks/other/x.json", "team/.pulumi/history/outside-in/pr-17/a.json",
		"team/.pulumi/stacks/outside-in/pr-18.json"} {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("state"), Key: aws.String(key), Body: strings.NewReader("{}")})
		require.NoError(t, err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	u, err := url.Parse("s3://state/team?region=eu-central-1&s3ForcePathStyle=true&endpoint=" + url.QueryEscape(aws.ToString(cfg.BaseEndpoint)))
	require.NoError(t, err)
	names, err := backendStackNames(ctx, u, "outside-in")
	require.NoError(t, err)
	assert.Equal(t, []string{"platform", "pr-17", "pr-18"}, names)
}
