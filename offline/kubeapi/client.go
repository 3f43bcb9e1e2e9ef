package kubeapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Config returns a new client configuration for the server, authenticated
// as a member of system:masters (cluster-admin).
func (s *Server) Config() *rest.Config {
	return rest.CopyConfig(s.cfg)
}

// Clientset returns a typed client for the server, authenticated like Config.
func (s *Server) Clientset() kubernetes.Interface {
	return s.client
}

// EnsureNamespace creates the namespace name if it does not exist and sets
// its labels (for example pod-security.kubernetes.io/enforce), really, not
// as a dry run, so that later dry-run applies into it are admitted against
// it. It also creates the namespace's "default" service account, which Pods
// need and which no controller creates here. It is idempotent; labels set by
// an earlier EnsureNamespace call and absent from labels are removed.
//
// Pod Security admission reads namespaces from an informer cache: changing
// the labels of a namespace that already existed may take a moment to be
// enforced. Prefer a fresh namespace per test.
func (s *Server) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	ns := corev1ac.Namespace(name)
	if len(labels) > 0 {
		ns = ns.WithLabels(labels)
	}
	if _, err := s.client.CoreV1().Namespaces().Apply(ctx, ns, opts); err != nil {
		return fmt.Errorf("ensure namespace %q: %w", name, err)
	}
	sa := corev1ac.ServiceAccount("default", name)
	if _, err := s.client.CoreV1().ServiceAccounts(name).Apply(ctx, sa, opts); err != nil {
		return fmt.Errorf("ensure service account %q in namespace %q: %w", "default", name, err)
	}
	return nil
}

// DryRunApply validates obj with a server-side apply with dryRun=All, field
// manager "outside-in" and force, as `kubectl apply --server-side
// --dry-run=server --force-conflicts` would: the server decodes, defaults,
// validates and admits the object, then discards it. The resource is found
// through discovery; a namespaced object without a namespace goes to
// "default", as kubectl and Pulumi do. The namespace must exist (see
// EnsureNamespace).
//
// The error, if any, names the object's apiVersion, kind, namespace and name
// and wraps the API server's error, so apierrors.IsInvalid and friends work.
func (s *Server) DryRunApply(ctx context.Context, obj *unstructured.Unstructured) error {
	_, err := s.apply(ctx, obj, true)
	return err
}

// DryRunApplyWarnings is DryRunApply that also returns the warnings the API
// server sent with its answer. Some checks only warn: Pod Security admission
// rejects a Pod that violates its namespace's enforce level, but only warns
// about a Deployment (or other workload) whose pod template does.
func (s *Server) DryRunApplyWarnings(ctx context.Context, obj *unstructured.Unstructured) ([]string, error) {
	return s.apply(ctx, obj, true)
}

// Apply is DryRunApply without the dry run: it really creates or updates obj,
// for objects that later dry runs depend on, such as a CustomResourceDefinition
// (Apply waits until a CRD is established) or a ResourceQuota.
func (s *Server) Apply(ctx context.Context, obj *unstructured.Unstructured) error {
	if _, err := s.apply(ctx, obj, false); err != nil {
		return err
	}
	if obj.GroupVersionKind().GroupKind() == crdGroupKind {
		return s.waitCRDEstablished(ctx, obj.GetName())
	}
	return nil
}

var crdGroupKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

func (s *Server) apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) ([]string, error) {
	if obj == nil {
		return nil, errors.New("kubeapi: apply of a nil object")
	}
	what := describe(obj)
	verb := "apply"
	if dryRun {
		verb = "dry-run apply"
	}
	gvk := obj.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, fmt.Errorf("%s of %s: apiVersion and kind must be set", verb, what)
	}
	if obj.GetName() == "" {
		return nil, fmt.Errorf("%s of %s: metadata.name must be set (apply cannot use generateName)", verb, what)
	}

	mapping, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// Maybe a CRD created since discovery was cached.
		s.mapper.Reset()
		mapping, err = s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", verb, what, err)
	}

	var ri dynamic.ResourceInterface
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
			obj = obj.DeepCopy()
			obj.SetNamespace(ns)
			what = describe(obj)
		}
		ri = s.dynamic.Resource(mapping.Resource).Namespace(ns)
	} else {
		ri = s.dynamic.Resource(mapping.Resource)
	}

	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	warnings := &warningList{}
	_, err = ri.Apply(withWarnings(ctx, warnings), obj.GetName(), obj, opts)
	if err != nil {
		return warnings.get(), fmt.Errorf("%s of %s rejected: %w", verb, what, err)
	}
	return warnings.get(), nil
}

// describe names obj for messages: `apps/v1 Deployment "web" in namespace "prod"`.
func describe(obj *unstructured.Unstructured) string {
	s := fmt.Sprintf("%s %s %q", obj.GetAPIVersion(), obj.GetKind(), obj.GetName())
	if ns := obj.GetNamespace(); ns != "" {
		s += fmt.Sprintf(" in namespace %q", ns)
	}
	return s
}

// waitCRDEstablished waits until the CRD name is established and its
// resources are discoverable.
func (s *Server) waitCRDEstablished(ctx context.Context, name string) error {
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		crd, err := s.dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for CustomResourceDefinition %q to be established: %w", name, err)
	}
	s.mapper.Reset()
	return nil
}

// As returns a client of the same server that acts as user in groups (the administrator
// impersonates them), to check what an identity the program's RBAC names may do. It shares the
// server: stopping it is the original's business.
func (s *Server) As(user string, groups ...string) (*Server, error) {
	cfg := rest.CopyConfig(s.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	own := rest.CopyConfig(cfg)
	own.WarningHandlerWithContext = collectWarnings{}
	own.Timeout = 30 * time.Second
	client, err := kubernetes.NewForConfig(own)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(own)
	if err != nil {
		return nil, err
	}
	return &Server{dir: s.dir, pki: s.pki, host: s.host, cfg: cfg, client: client, dynamic: dyn, mapper: s.mapper}, nil
}

// Kubeconfig returns a kubeconfig for the server whose user is a new client certificate for
// user in groups, signed by the server's client CA: an identity's own credentials, as a
// platform hands them to environment stacks, not an impersonation by the administrator.
func (s *Server) Kubeconfig(user string, groups ...string) ([]byte, error) {
	certPEM, keyPEM, err := s.pki.clientCert(user, groups)
	if err != nil {
		return nil, err
	}
	return KubeconfigFor(s.host, s.pki.caPEM, certPEM, keyPEM, user)
}

// AdminKubeconfig is a kubeconfig of the package's own administrator (system:masters).
func (s *Server) AdminKubeconfig() ([]byte, error) {
	return KubeconfigFor(s.host, s.pki.caPEM, s.pki.clientCertPEM, s.pki.clientKeyPEM, testUser)
}

// KubeconfigFor renders a kubeconfig of one cluster, user and context.
func KubeconfigFor(server string, caPEM, certPEM, keyPEM []byte, user string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: user}
	cfg.CurrentContext = "test"
	return clientcmd.Write(*cfg)
}
