// Package kubewait waits, within a bound, until a new cluster's Kubernetes API serves the
// program's credentials. A fresh EKS access entry is refused for a short while after it is
// created, and a fresh k3s server answers only once it has started; the program asks this
// package before the Kubernetes provider makes its first call, so the first `pulumi up`
// completes in one run instead of failing on a refused request.
package kubewait

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options bound a wait.
type Options struct {
	// Timeout is how long to keep asking before giving up.
	Timeout time.Duration
	// Interval is the pause between two attempts.
	Interval time.Duration
	// MinReadyNodes, when above zero, also waits until that many nodes without the
	// control-plane role report Ready: the workers the load balancer targets.
	MinReadyNodes int
}

// DefaultOptions suit a cluster that was just created: EKS access entries take effect within
// about a minute, a k3s server and its agents boot in a few.
var DefaultOptions = Options{Timeout: 10 * time.Minute, Interval: 5 * time.Second}

// Wait asks the API behind kubeconfig for GET /readyz with the kubeconfig's credentials until it
// answers 200, then, when MinReadyNodes is set, lists the nodes until enough workers are Ready.
// Every refusal (401, 403, a connection error, a TLS error) is retried until the timeout; the
// error then names the endpoint and the last answer.
func Wait(ctx context.Context, kubeconfig string, opts Options) error {
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		return fmt.Errorf("kubewait: reading the kubeconfig: %w", err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("kubewait: building a client for %s: %w", cfg.Host, err)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultOptions.Interval
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	host := strings.TrimSuffix(cfg.Host, "/")
	last := "no answer yet"
	attempts := 0
	for {
		attempts++
		ready, why := probe(ctx, client, host, opts.MinReadyNodes)
		if ready {
			return nil
		}
		// An attempt the deadline cut short says nothing new: keep the last real answer.
		if ctx.Err() == nil || last == "no answer yet" {
			last = why
		}
		select {
		case <-ctx.Done():
			what := "answer GET /readyz with 200"
			if opts.MinReadyNodes > 0 {
				what += fmt.Sprintf(" and report %d Ready worker nodes", opts.MinReadyNodes)
			}
			return fmt.Errorf("kubewait: the Kubernetes API at %s did not %s within %s (%d attempts); last: %s",
				host, what, opts.Timeout, attempts, last)
		case <-time.After(opts.Interval):
		}
	}
}

// probe makes one attempt and says why it is not ready yet.
func probe(ctx context.Context, client *http.Client, host string, minNodes int) (bool, string) {
	status, body, err := get(ctx, client, host+"/readyz")
	switch {
	case err != nil:
		return false, err.Error()
	case status != http.StatusOK:
		return false, fmt.Sprintf("GET /readyz: %d %s: %s", status, http.StatusText(status), firstLine(body))
	case minNodes <= 0:
		return true, ""
	}
	status, body, err = get(ctx, client, host+"/api/v1/nodes?labelSelector=%21node-role.kubernetes.io%2Fcontrol-plane")
	switch {
	case err != nil:
		return false, err.Error()
	case status != http.StatusOK:
		return false, fmt.Sprintf("GET /api/v1/nodes: %d %s: %s", status, http.StatusText(status), firstLine(body))
	}
	ready, err := readyNodes(body)
	if err != nil {
		return false, err.Error()
	}
	if ready < minNodes {
		return false, fmt.Sprintf("%d of %d worker nodes Ready", ready, minNodes)
	}
	return true, ""
}

func get(ctx context.Context, client *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, body, err
}

// readyNodes counts the nodes of a NodeList whose Ready condition is True.
func readyNodes(body []byte) (int, error) {
	var list struct {
		Items []struct {
			Status struct {
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return 0, errors.New("the node list is not JSON: " + firstLine(body))
	}
	n := 0
	for _, node := range list.Items {
		for _, c := range node.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				n++
			}
		}
	}
	return n, nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
