package envlife

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/outside-in/outside-in/internal/published"
)

// OutputEnvironmentKubeconfig is the entry of the platform's published document that reaches
// its cluster as the environments identity.
const OutputEnvironmentKubeconfig = "environmentKubeconfig"

// NamespaceGoneTimeout bounds how long removing an environment's namespace may take.
const NamespaceGoneTimeout = 3 * time.Minute

// platformCluster is what the lifecycle knows of an environment's cluster: the platform's
// environments kubeconfig, or why the cluster is verifiably gone.
type platformCluster struct {
	kubeconfig string
	// gone says why the cluster verifiably no longer exists ("" when it may).
	gone string
}

// clusterOf reads the platform's published document (never its state). A platform that has
// published nothing and whose stack is no longer in the backend (destroyed; the two together,
// so that a read in the wrong region is not taken for a platform gone), whose document holds
// no environments kubeconfig, or whose API endpoint no longer resolves has no cluster left.
// Anything else (a refused read, a timeout) is not proof that it is gone.
func (m *Manager) clusterOf(ctx context.Context, ws auto.Workspace, platform string) (platformCluster, error) {
	if platform == "" {
		return platformCluster{}, errors.New("the environment names no platform stack")
	}
	doc, err := m.Published(ctx, platform)
	if errors.Is(err, published.ErrNotPublished) {
		names, listErr := m.stackNames(ctx, ws)
		if listErr != nil {
			return platformCluster{}, fmt.Errorf("%w, and listing the stacks to see whether it still exists failed: %w", err, listErr)
		}
		for _, s := range names {
			if stackLeaf(s.Name) == stackLeaf(platform) {
				return platformCluster{}, fmt.Errorf("%w, yet its stack %s is still in the backend: is AWS_REGION the platform's region?", err, platform)
			}
		}
		return platformCluster{gone: "its platform " + platform + " is no longer in the backend and publishes nothing for environments"}, nil
	}
	if err != nil {
		return platformCluster{}, err
	}
	value, _ := doc[OutputEnvironmentKubeconfig].(string)
	if value == "" {
		return platformCluster{gone: "its platform " + platform + " publishes no " + OutputEnvironmentKubeconfig + ": it has no cluster"}, nil
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(value))
	if err != nil {
		return platformCluster{}, fmt.Errorf("the %s of platform %s does not parse: %w", OutputEnvironmentKubeconfig, platform, err)
	}
	host := cfg.Host
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, "/")
	if net.ParseIP(host) == nil {
		lookup := m.LookupHost
		if lookup == nil {
			lookup = net.DefaultResolver.LookupHost
		}
		var dnsErr *net.DNSError
		if _, err := lookup(ctx, host); errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return platformCluster{kubeconfig: value, gone: "its cluster's API endpoint " + host + " no longer resolves"}, nil
		}
	}
	return platformCluster{kubeconfig: value}, nil
}

// deleteNamespace deletes an environment's namespace through kubeconfig and waits until it is
// gone: the namespace controller deletes everything in it.
func deleteNamespace(ctx context.Context, kubeconfig, namespace string) error {
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		return err
	}
	cfg.Timeout = 30 * time.Second
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := c.CoreV1().Namespaces().Delete(ctx, namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w", namespace, err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, NamespaceGoneTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s still there after %s", namespace, NamespaceGoneTimeout)
	}
	return nil
}

// destroy destroys the stack's resources from its state. Only when the stack's cluster is
// verifiably gone does pulumi-kubernetes drop its objects from the state unreached
// (PULUMI_K8S_DELETE_UNREACHABLE); otherwise a cluster that refuses (a bad token, a timeout)
// fails the destroy, and the namespace and the state stay as they are.
func (m *Manager) destroy(ctx context.Context, name, gone string) error {
	var extra map[string]string
	if gone != "" {
		extra = map[string]string{deleteUnreachable: "true"}
		fmt.Fprintf(m.progress(), "%s: %s; its Kubernetes objects leave the state unreached\n", name, gone)
	}
	ws, err := m.workspace(ctx, extra)
	if err != nil {
		return err
	}
	stack, err := auto.SelectStack(ctx, name, ws)
	if err != nil {
		return fmt.Errorf("selecting stack %s: %w", name, err)
	}
	// As in Up, the summary is read without secrets.
	if _, err := stack.Destroy(ctx, optdestroy.ProgressStreams(m.progress()), optdestroy.ErrorProgressStreams(m.progress()), optdestroy.ShowSecrets(false)); err != nil {
		if auto.IsConcurrentUpdateError(err) {
			return &LockedError{Stack: name, Since: lockTime(err.Error()), err: err}
		}
		if gone == "" {
			return fmt.Errorf("destroying stack %s (its cluster may still exist, so nothing was dropped from the state unreached; the namespace keeps running until a destroy succeeds): %w", name, err)
		}
		return fmt.Errorf("destroying stack %s: %w", name, err)
	}
	return nil
}

// removeStack removes the stack from the backend with its backups and history (they hold its
// state, kubeconfig included), and with its Pulumi.<stack>.yaml unless git tracks that file:
// a stack file of the repository (Pulumi.pr-17.yaml is a shipped example) is never deleted.
// force removes a stack whose state still lists resources (a pull request's environment, whose
// state the reaper does not trust to destroy from).
func (m *Manager) removeStack(ctx context.Context, ws auto.Workspace, name string, force bool) error {
	args := []string{"stack", "rm", "--yes", "--remove-backups", name}
	if force {
		args = append(args, "--force")
	}
	if m.tracked(stackLeaf(name)) {
		args = append(args, "--preserve-config")
	}
	var env []string
	for k, v := range m.EnvVars {
		env = append(env, k+"="+v)
	}
	stdout, stderr, _, err := ws.PulumiCommand().Run(ctx, m.WorkDir, nil, nil, nil, env, args...)
	if err != nil {
		if strings.Contains(stderr, "no stack named") {
			return nil
		}
		return fmt.Errorf("removing stack %s: %w\n%s%s", name, err, stdout, stderr)
	}
	return nil
}

// tracked says whether git tracks the stack's settings file in the project directory.
func (m *Manager) tracked(stack string) bool {
	file := "Pulumi." + stack + ".yaml"
	if _, err := os.Stat(filepath.Join(m.WorkDir, file)); err != nil {
		return false
	}
	cmd := exec.Command("git", "ls-files", "--error-unmatch", "--", file)
	cmd.Dir = m.WorkDir
	return cmd.Run() == nil
}

// LockedError is the error for a stack another update holds; Since is when the lock was taken
// (zero when the backend did not say).
type LockedError struct {
	Stack string
	Since time.Time
	err   error
}

func (e *LockedError) Error() string {
	if e.Since.IsZero() {
		return fmt.Sprintf("stack %s is locked by a running update", e.Stack)
	}
	return fmt.Sprintf("stack %s is locked by an update that started at %s", e.Stack, e.Since.Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

func (e *LockedError) Unwrap() error { return e.err }

// lockLine is how the file and S3 backends describe a lock in their refusal:
// "<path>: created by <user>@<host> (pid <n>) at <RFC 3339 time>".
var lockLine = regexp.MustCompile(`created by \S+ \(pid \d+\) at (\S+)`)

// lockTime is the oldest lock's time in a backend's refusal, zero if it names none.
func lockTime(msg string) time.Time {
	var oldest time.Time
	for _, m := range lockLine.FindAllStringSubmatch(msg, -1) {
		if t, err := time.Parse(time.RFC3339, m[1]); err == nil && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	return oldest
}
