package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// API reads GitHub's REST API: Get returns the body of a GET on path (relative to the API
// root, without a leading slash), or an *HTTPError when GitHub answered with an error status.
// The real one runs `gh api`; the tests answer from recordings.
type API interface {
	Get(ctx context.Context, path string) ([]byte, error)
}

// HTTPError is GitHub's answer to a request it refused or could not serve.
type HTTPError struct {
	Status  int
	Message string
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, e.Message)
}

// statusOf is err's HTTP status, or 0 when err is not GitHub's answer (gh missing, no network).
func statusOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

// getJSON decodes the answer to a GET of path into v.
func getJSON(ctx context.Context, api API, path string, v any) error {
	body, err := api.Get(ctx, path)
	if err != nil {
		return fmt.Errorf("GET /%s: %w", path, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET /%s: reading the answer: %w", path, err)
	}
	return nil
}

// ghCLI is the GitHub CLI: it brings its own login (`gh auth login`, or GH_TOKEN), so this
// command never handles a token.
type ghCLI struct {
	// bin is the gh executable.
	bin string
}

// httpStatusLine is the first line --include prints, e.g. "HTTP/2.0 404 Not Found".
var httpStatusLine = regexp.MustCompile(`^HTTP/[0-9.]+ ([0-9]{3})`)

func (g ghCLI) Get(ctx context.Context, path string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, g.bin, "api", "--include",
		"-H", "Accept: application/vnd.github+json",
		"-H", "X-GitHub-Api-Version: 2022-11-28",
		path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	status, body, ok := splitResponse(stdout.Bytes())
	if !ok {
		// No HTTP answer at all: gh is missing, not logged in, or the network is down.
		if runErr == nil {
			return nil, errors.New("gh api printed no HTTP response")
		}
		return nil, fmt.Errorf("gh api: %v: %s", runErr, strings.TrimSpace(stderr.String()))
	}
	if status >= 300 {
		var m struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &m) // an error body without a message still has its status
		return nil, &HTTPError{Status: status, Message: m.Message}
	}
	return body, nil
}

// splitResponse takes `gh api --include` output apart: status line, headers, a blank line,
// the body.
func splitResponse(out []byte) (status int, body []byte, ok bool) {
	text := bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n"))
	head, body, found := bytes.Cut(text, []byte("\n\n"))
	if !found {
		head, body = text, nil
	}
	first, _, _ := bytes.Cut(head, []byte("\n"))
	m := httpStatusLine.FindSubmatch(first)
	if m == nil {
		return 0, nil, false
	}
	status, err := strconv.Atoi(string(m[1]))
	if err != nil {
		return 0, nil, false
	}
	return status, body, true
}
