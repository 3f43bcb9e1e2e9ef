package envlife

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// EnvBackendURL names the backend the CLI logs in to.
const EnvBackendURL = "PULUMI_BACKEND_URL"

// stackNames lists the project's stacks by name alone, opening no checkpoint. `pulumi stack ls`
// on a self-managed backend reads every stack's file, so one it may not read (the platform's,
// to the environments role) or one a pull request wrote to fail the parse fails the whole
// listing, and the trusted reaper would open pull requests' files only to skip them. On a file
// or S3 backend the names come from the stack files' names; on any other backend (Pulumi
// Cloud, whose service decides who sees what) from the CLI.
func (m *Manager) stackNames(ctx context.Context, ws auto.Workspace) ([]auto.StackSummary, error) {
	backend := m.EnvVars[EnvBackendURL]
	if backend == "" {
		backend = os.Getenv(EnvBackendURL)
	}
	u, err := url.Parse(backend)
	if err != nil || (u.Scheme != "file" && u.Scheme != "s3") {
		return ws.ListStacks(ctx)
	}
	project, err := ws.ProjectSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the project: %w", err)
	}
	names, err := backendStackNames(ctx, u, string(project.Name))
	if err != nil {
		return nil, fmt.Errorf("listing the stacks in %s: %w", backend, err)
	}
	out := make([]auto.StackSummary, len(names))
	for i, n := range names {
		out[i] = auto.StackSummary{Name: n}
	}
	return out, nil
}

// backendStackNames are the names of a project's stacks on a file or S3 backend, from the
// names of the files in its stacks folder (<stack>.json, or .json.gz when the backend
// compresses), sorted.
func backendStackNames(ctx context.Context, u *url.URL, project string) ([]string, error) {
	folder := ".pulumi/stacks/" + project + "/"
	var files []string
	var err error
	switch u.Scheme {
	case "file":
		files, err = fileNames(filepath.Join(u.Host+u.Path, filepath.FromSlash(folder)))
	case "s3":
		files, err = s3Names(ctx, u, folder)
	default:
		err = fmt.Errorf("backend scheme %q is neither file nor s3", u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		for _, ext := range []string{".json", ".json.gz"} {
			if name, ok := strings.CutSuffix(f, ext); ok && name != "" {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// fileNames are the names of the files in dir; none when dir does not exist.
func fileNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// s3Names are the names of the objects directly under folder in the bucket of an s3:// backend
// URL (s3://bucket[/prefix]?region=…&endpoint=…&s3ForcePathStyle=true, as the CLI takes it):
// s3:ListBucket, which reads names only.
func s3Names(ctx context.Context, u *url.URL, folder string) ([]string, error) {
	q := u.Query()
	var opts []func(*config.LoadOptions) error
	if r := q.Get("region"); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	if p := q.Get("profile"); p != "" {
		opts = append(opts, config.WithSharedConfigProfile(p))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if e := q.Get("endpoint"); e != "" {
			if !strings.Contains(e, "://") {
				e = "https://" + e
			}
			o.BaseEndpoint = aws.String(e)
		}
		o.UsePathStyle = q.Get("s3ForcePathStyle") == "true" || q.Get("use_path_style") == "true"
	})
	prefix := strings.TrimPrefix(path.Join(strings.TrimPrefix(u.Path, "/"), folder), "/") + "/"
	var out []string
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{
		Bucket: aws.String(u.Host), Prefix: aws.String(prefix), Delimiter: aws.String("/"),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			out = append(out, strings.TrimPrefix(aws.ToString(o.Key), prefix))
		}
	}
	return out, nil
}
