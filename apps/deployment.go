package apps

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/kubemeta"
	"github.com/outside-in/outside-in/internal/naming"
)

// Resources of each httpd container. Ephemeral storage covers the two emptyDirs (64 MiB each)
// and the container's logs, so a runaway writer is evicted instead of filling the node.
var (
	ContainerRequests = map[string]string{"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "64Mi"}
	ContainerLimits   = map[string]string{"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "256Mi"}
)

// PullPolicy is IfNotPresent for an image pinned by digest (the bytes cannot change, so a node
// that has them need not ask again) and Always for one pinned only by tag.
func PullPolicy(image string) string {
	if strings.Contains(image, "@sha256:") {
		return "IfNotPresent"
	}
	return "Always"
}

func appsDeployment(ctx *pulumi.Context, name string, args AppArgs, meta *metav1.ObjectMetaArgs, configMap pulumi.StringInput, opts []pulumi.ResourceOption) (*appsv1.Deployment, error) {
	d, err := appsv1.NewDeployment(ctx, naming.Child(name, "deployment"), &appsv1.DeploymentArgs{
		Metadata: meta,
		Spec:     deploymentSpec(args, configMap),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("apps: app %s deployment: %w", args.Name, err)
	}
	return d, nil
}

// deploymentSpec runs httpd so that it passes Pod Security "restricted": non-root, no privilege
// escalation, no capabilities, RuntimeDefault seccomp, a read-only root filesystem with emptyDirs
// where httpd writes.
func deploymentSpec(args AppArgs, configMap pulumi.StringInput) *appsv1.DeploymentSpecArgs {
	labels := pulumi.ToStringMap(AppLabels(args.Name))
	emptyDir := func(name string) *corev1.VolumeArgs {
		return &corev1.VolumeArgs{Name: pulumi.String(name), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{SizeLimit: pulumi.String("64Mi")}}
	}
	// Nodes whose taints the pods do not tolerate are no spread domains (nodeTaintsPolicy
	// Honor; the default, Ignore, counts them): a k3s server (CriticalAddonsOnly) or a drained
	// node (node.kubernetes.io/unschedulable) would otherwise stand as an empty domain that no
	// pod can ever fill, and every surge or replacement pod would stay Pending.
	spread := func(key, when string) *corev1.TopologySpreadConstraintArgs {
		return &corev1.TopologySpreadConstraintArgs{
			MaxSkew: pulumi.Int(1), TopologyKey: pulumi.String(key), WhenUnsatisfiable: pulumi.String(when),
			LabelSelector:      &metav1.LabelSelectorArgs{MatchLabels: labels},
			NodeTaintsPolicy:   pulumi.String("Honor"),
			NodeAffinityPolicy: pulumi.String("Honor"),
		}
	}
	// The platform's apps outrank every environment's pods; an environment's run at the only
	// class the platform lets environments name.
	priorityClass := kubemeta.PlatformPriorityClass
	if args.Environment != nil {
		priorityClass = kubemeta.EnvironmentsPriorityClass
	}
	return &appsv1.DeploymentSpecArgs{
		Replicas: pulumi.Int(args.Replicas),
		// Old ReplicaSets kept for a rollback: the most an environment may keep (each is an
		// object in the cluster's datastore).
		RevisionHistoryLimit: pulumi.Int(guardrails.EnvironmentRevisionHistory),
		Selector:             &metav1.LabelSelectorArgs{MatchLabels: labels},
		Strategy: &appsv1.DeploymentStrategyArgs{
			Type:          pulumi.String("RollingUpdate"),
			RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{MaxUnavailable: pulumi.Int(0), MaxSurge: pulumi.Int(1)},
		},
		Template: &corev1.PodTemplateSpecArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Labels: labels,
				// A change of the rendered config rolls the pods.
				Annotations: pulumi.StringMap{"outside-in/config-sha256": pulumi.String(configHash(args))},
			},
			Spec: &corev1.PodSpecArgs{
				PriorityClassName:             pulumi.String(priorityClass),
				AutomountServiceAccountToken:  pulumi.Bool(false),
				EnableServiceLinks:            pulumi.Bool(false),
				TerminationGracePeriodSeconds: pulumi.Int(ingress.TerminationGraceSeconds),
				SecurityContext: &corev1.PodSecurityContextArgs{
					RunAsNonRoot:   pulumi.Bool(true),
					RunAsUser:      pulumi.Int(AppUID),
					RunAsGroup:     pulumi.Int(AppGID),
					FsGroup:        pulumi.Int(AppGID),
					SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
				},
				TopologySpreadConstraints: corev1.TopologySpreadConstraintArray{
					spread("topology.kubernetes.io/zone", "ScheduleAnyway"),
					spread("kubernetes.io/hostname", "DoNotSchedule"),
				},
				Containers: corev1.ContainerArray{&corev1.ContainerArgs{
					Name:            pulumi.String("httpd"),
					Image:           pulumi.String(args.Image),
					ImagePullPolicy: pulumi.String(PullPolicy(args.Image)),
					// httpd-foreground is the image's entry script; -f points it at our config.
					Command: pulumi.ToStringArray([]string{"httpd-foreground"}),
					Args:    pulumi.ToStringArray([]string{"-f", httpdConfigDir + "/httpd.conf"}),
					Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{
						Name: pulumi.String("http"), ContainerPort: pulumi.Int(args.Port), Protocol: pulumi.String("TCP"),
					}},
					// Ready when the health page answers: a pod that serves errors leaves the
					// Service. Alive while httpd accepts connections: a slow page must not get a
					// healthy pod restarted, so liveness asks less, less often.
					ReadinessProbe: &corev1.ProbeArgs{
						HttpGet:       &corev1.HTTPGetActionArgs{Path: pulumi.String(args.HealthPath), Port: pulumi.String("http")},
						PeriodSeconds: pulumi.Int(5), TimeoutSeconds: pulumi.Int(2), FailureThreshold: pulumi.Int(2),
					},
					LivenessProbe: &corev1.ProbeArgs{
						TcpSocket:           &corev1.TCPSocketActionArgs{Port: pulumi.String("http")},
						InitialDelaySeconds: pulumi.Int(5), PeriodSeconds: pulumi.Int(15), TimeoutSeconds: pulumi.Int(3), FailureThreshold: pulumi.Int(4),
					},
					Lifecycle: &corev1.LifecycleArgs{
						// Keep serving until the controller and the load balancer have stopped
						// sending here: longer than the deregistration delay.
						PreStop: &corev1.LifecycleHandlerArgs{Sleep: &corev1.SleepActionArgs{Seconds: pulumi.Int(ingress.PreStopSeconds)}},
					},
					Resources: &corev1.ResourceRequirementsArgs{
						Requests: pulumi.ToStringMap(ContainerRequests),
						Limits:   pulumi.ToStringMap(ContainerLimits),
					},
					SecurityContext: &corev1.SecurityContextArgs{
						AllowPrivilegeEscalation: pulumi.Bool(false),
						ReadOnlyRootFilesystem:   pulumi.Bool(true),
						RunAsNonRoot:             pulumi.Bool(true),
						Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
					},
					VolumeMounts: corev1.VolumeMountArray{
						&corev1.VolumeMountArgs{Name: pulumi.String("config"), MountPath: pulumi.String(httpdConfigDir), ReadOnly: pulumi.Bool(true)},
						&corev1.VolumeMountArgs{Name: pulumi.String("content"), MountPath: pulumi.String(httpdDocRoot), ReadOnly: pulumi.Bool(true)},
						&corev1.VolumeMountArgs{Name: pulumi.String("run"), MountPath: pulumi.String(httpdRunDir)},
						&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")},
					},
				}},
				Volumes: corev1.VolumeArray{
					&corev1.VolumeArgs{Name: pulumi.String("config"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{
						Name:  configMap,
						Items: corev1.KeyToPathArray{&corev1.KeyToPathArgs{Key: pulumi.String("httpd.conf"), Path: pulumi.String("httpd.conf")}},
					}},
					&corev1.VolumeArgs{Name: pulumi.String("content"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{
						Name:  configMap,
						Items: corev1.KeyToPathArray{&corev1.KeyToPathArgs{Key: pulumi.String("index.html"), Path: pulumi.String("index.html")}},
					}},
					emptyDir("run"),
					emptyDir("tmp"),
				},
			},
		},
	}
}

func configHash(args AppArgs) string {
	sum := sha256.Sum256([]byte(HTTPDConfig(args.Port, args.Name) + IndexPage(args.Name)))
	return hex.EncodeToString(sum[:])
}
