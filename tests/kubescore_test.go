package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// KubeScoreAccepted are the CRITICAL findings of kube-score the README justifies, one by one
// ("kube-score" under Testing): check id → kind of object it may concern.
var KubeScoreAccepted = map[string]string{
	// Images are pinned by digest: the bytes cannot change, so a node that has them needs not
	// ask the registry again; Always would make every pod start depend on the registry.
	"container-image-pull-policy": "Deployment",
	// The entry Service selects the Traefik pods the Helm chart makes at deploy time, which are
	// not among the objects scored.
	"service-targets-pod": "Service",
	// The controller's entry NetworkPolicy selects the same Traefik pods.
	"networkpolicy-targets-pod": "NetworkPolicy",
}

// kubeScore runs kube-score (built into .tools/bin by scripts/install-tools.sh) on objects and
// returns its CRITICAL findings as "check-id Kind namespace/name: summary".
func kubeScore(t *testing.T, objects []byte) []string {
	t.Helper()
	bin := filepath.Join(root, ".tools", "bin", "kube-score")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("OUTSIDE_IN_SKIP_TOOLS") == "1" {
			t.Skip("kube-score is not built and OUTSIDE_IN_SKIP_TOOLS=1")
		}
		t.Fatalf("kube-score is not built: run scripts/install-tools.sh")
	}
	file := filepath.Join(t.TempDir(), "objects.yaml")
	require.NoError(t, os.WriteFile(file, objects, 0o600))
	cmd := exec.Command(bin, "score", "--output-format", "json", "--kubernetes-version", "v1.33", file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run() // exit status 1 means findings; the JSON says which
	var report []struct {
		ObjectName string `json:"object_name"`
		TypeMeta   struct {
			Kind string `json:"kind"`
		} `json:"type_meta"`
		Checks []struct {
			Check struct {
				ID string `json:"id"`
			} `json:"check"`
			Grade    int  `json:"grade"`
			Skipped  bool `json:"skipped"`
			Comments []struct {
				Summary string `json:"summary"`
			} `json:"comments"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &report), "kube-score: %s", stderr.String())
	require.NotEmpty(t, report, "kube-score scored nothing")
	var critical []string
	for _, o := range report {
		for _, c := range o.Checks {
			if c.Skipped || c.Grade > 1 {
				continue
			}
			var summaries []string
			for _, cm := range c.Comments {
				summaries = append(summaries, cm.Summary)
			}
			critical = append(critical, fmt.Sprintf("%s %s %s: %s", c.Check.ID, o.TypeMeta.Kind, o.ObjectName, strings.Join(summaries, "; ")))
		}
	}
	sort.Strings(critical)
	return critical
}

// kube-score finds nothing CRITICAL in any shipped stack's Kubernetes objects but what
// KubeScoreAccepted justifies.
func TestKubeScore(t *testing.T) {
	for _, s := range shippedStacks(t) {
		t.Run(s.Name, func(t *testing.T) {
			var objects bytes.Buffer
			require.NoError(t, run(t, s).WriteYAML(&objects))
			for _, finding := range kubeScore(t, objects.Bytes()) {
				id, rest, _ := strings.Cut(finding, " ")
				kind, _, _ := strings.Cut(rest, " ")
				assert.Equal(t, KubeScoreAccepted[id], kind, "unjustified CRITICAL: %s", finding)
			}
		})
	}
}

// The control: kube-score reports, as CRITICAL, what the program avoids (a pod with no
// NetworkPolicy, no resource limits, equal probes), so its silence above means something.
func TestKubeScoreRejectsWhatTheProgramAvoids(t *testing.T) {
	bad := `apiVersion: apps/v1
kind: Deployment
metadata: {name: bare, namespace: bare}
spec:
  replicas: 2
  selector: {matchLabels: {app: bare}}
  template:
    metadata: {labels: {app: bare}}
    spec:
      containers:
      - name: httpd
        image: httpd:2.4.68
        readinessProbe: {httpGet: {path: /, port: 8080}}
        livenessProbe: {httpGet: {path: /, port: 8080}}
`
	got := strings.Join(kubeScore(t, []byte(bad)), "\n")
	for _, id := range []string{"pod-networkpolicy", "container-resources", "pod-probes-identical", "container-ephemeral-storage-request-and-limit"} {
		assert.Contains(t, got, id+" Deployment")
	}
}
