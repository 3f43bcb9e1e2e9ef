package ingress

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// AppArgs describes one Apache httpd app. The app's namespace, Deployment, Service,
// PodDisruptionBudget and Ingress all take its name.
type AppArgs struct {
	Name       string
	Host       string
	Image      string
	Replicas   int
	Port       int
	HealthPath string
	// Provider is the cluster's Kubernetes provider.
	Provider *kubernetes.Provider
	// Controller is the ingress controller's release; the Ingress rule waits for it, since only
	// the controller gives the rule the status pulumi-kubernetes waits for.
	Controller pulumi.Resource
}

// The app pods' identity: a fixed non-root UID and GID above 10000, so no host user is shared.
const (
	AppUID = 10001
	AppGID = 10001
	// ServicePort is the port of each app's ClusterIP Service.
	ServicePort = 80
)

// App is an Apache httpd app behind the ingress controller.
type App struct {
	pulumi.ResourceState
}

// AppLabels select an app's pods.
func AppLabels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "outside-in"}
}

// NewApp declares the app's Kubernetes objects.
func NewApp(ctx *pulumi.Context, name string, args AppArgs, opts ...pulumi.ResourceOption) (*App, error) {
	c := &App{}
	if err := ctx.RegisterComponentResource("outside-in:ingress:App", name, c, opts...); err != nil {
		return nil, err
	}
	child := []pulumi.ResourceOption{pulumi.Parent(c), pulumi.Provider(args.Provider)}
	meta := func() *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(args.Name), Namespace: pulumi.String(args.Name),
			Labels: pulumi.ToStringMap(AppLabels(args.Name))}
	}

	ns, err := corev1.NewNamespace(ctx, naming.Child(name, "ns"), &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(args.Name), Labels: pulumi.ToStringMap(PodSecurityLabels())},
	}, child...)
	if err != nil {
		return nil, fmt.Errorf("ingress: app %s namespace: %w", args.Name, err)
	}
	inNs := append(child, pulumi.DependsOn([]pulumi.Resource{ns}))

	cm, err := corev1.NewConfigMap(ctx, naming.Child(name, "httpd"), &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(args.Name + "-httpd"), Namespace: pulumi.String(args.Name),
			Labels: pulumi.ToStringMap(AppLabels(args.Name))},
		Data: pulumi.StringMap{
			"httpd.conf": pulumi.String(HTTPDConfig(args.Port, args.Host)),
			"index.html": pulumi.String(IndexPage(args.Name, args.Host)),
		},
	}, inNs...)
	if err != nil {
		return nil, fmt.Errorf("ingress: app %s config: %w", args.Name, err)
	}
	if _, err := appsv1.NewDeployment(ctx, naming.Child(name, "deployment"), &appsv1.DeploymentArgs{
		Metadata: meta(),
		Spec:     deploymentSpec(args, cm.Metadata.Name().Elem()),
	}, inNs...); err != nil {
		return nil, fmt.Errorf("ingress: app %s deployment: %w", args.Name, err)
	}
	if _, err := corev1.NewService(ctx, naming.Child(name, "service"), &corev1.ServiceArgs{
		Metadata: meta(),
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: pulumi.ToStringMap(AppLabels(args.Name)),
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name: pulumi.String("http"), Protocol: pulumi.String("TCP"),
				Port: pulumi.Int(ServicePort), TargetPort: pulumi.String("http"),
			}},
		},
	}, inNs...); err != nil {
		return nil, fmt.Errorf("ingress: app %s service: %w", args.Name, err)
	}
	if _, err := policyv1.NewPodDisruptionBudget(ctx, naming.Child(name, "pdb"), &policyv1.PodDisruptionBudgetArgs{
		Metadata: meta(),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: pulumi.Int(1),
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(AppLabels(args.Name))},
		},
	}, inNs...); err != nil {
		return nil, fmt.Errorf("ingress: app %s disruption budget: %w", args.Name, err)
	}
	afterController := inNs
	if args.Controller != nil {
		afterController = append(afterController, pulumi.DependsOn([]pulumi.Resource{args.Controller}))
	}
	if _, err := networkingv1.NewIngress(ctx, naming.Child(name, "ingress"), &networkingv1.IngressArgs{
		Metadata: meta(),
		Spec: &networkingv1.IngressSpecArgs{
			IngressClassName: pulumi.String(IngressClass),
			Rules: networkingv1.IngressRuleArray{&networkingv1.IngressRuleArgs{
				Host: pulumi.String(args.Host),
				Http: &networkingv1.HTTPIngressRuleValueArgs{Paths: networkingv1.HTTPIngressPathArray{&networkingv1.HTTPIngressPathArgs{
					Path:     pulumi.String("/"),
					PathType: pulumi.String("Prefix"),
					Backend: &networkingv1.IngressBackendArgs{Service: &networkingv1.IngressServiceBackendArgs{
						Name: pulumi.String(args.Name),
						Port: &networkingv1.ServiceBackendPortArgs{Number: pulumi.Int(ServicePort)},
					}},
				}}},
			}},
		},
	}, afterController...); err != nil {
		return nil, fmt.Errorf("ingress: app %s ingress rule: %w", args.Name, err)
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"host": pulumi.String(args.Host)}); err != nil {
		return nil, fmt.Errorf("ingress: app %s outputs: %w", args.Name, err)
	}
	return c, nil
}

// deploymentSpec runs httpd so that it passes Pod Security "restricted": non-root, no privilege
// escalation, no capabilities, RuntimeDefault seccomp, a read-only root filesystem with emptyDirs
// where httpd writes.
func deploymentSpec(args AppArgs, configMap pulumi.StringInput) *appsv1.DeploymentSpecArgs {
	labels := pulumi.ToStringMap(AppLabels(args.Name))
	probe := func(period, failures int) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			HttpGet:          &corev1.HTTPGetActionArgs{Path: pulumi.String(args.HealthPath), Port: pulumi.String("http")},
			PeriodSeconds:    pulumi.Int(period),
			TimeoutSeconds:   pulumi.Int(2),
			FailureThreshold: pulumi.Int(failures),
		}
	}
	emptyDir := func(name string) *corev1.VolumeArgs {
		return &corev1.VolumeArgs{Name: pulumi.String(name), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{SizeLimit: pulumi.String("64Mi")}}
	}
	spread := func(key, when string) *corev1.TopologySpreadConstraintArgs {
		return &corev1.TopologySpreadConstraintArgs{
			MaxSkew: pulumi.Int(1), TopologyKey: pulumi.String(key), WhenUnsatisfiable: pulumi.String(when),
			LabelSelector: &metav1.LabelSelectorArgs{MatchLabels: labels},
		}
	}
	return &appsv1.DeploymentSpecArgs{
		Replicas: pulumi.Int(args.Replicas),
		Selector: &metav1.LabelSelectorArgs{MatchLabels: labels},
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
				AutomountServiceAccountToken:  pulumi.Bool(false),
				EnableServiceLinks:            pulumi.Bool(false),
				TerminationGracePeriodSeconds: pulumi.Int(TerminationGraceSeconds),
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
					Name:  pulumi.String("httpd"),
					Image: pulumi.String(args.Image),
					// httpd-foreground is the image's entry script; -f points it at our config.
					Command: pulumi.ToStringArray([]string{"httpd-foreground"}),
					Args:    pulumi.ToStringArray([]string{"-f", httpdConfigDir + "/httpd.conf"}),
					Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{
						Name: pulumi.String("http"), ContainerPort: pulumi.Int(args.Port), Protocol: pulumi.String("TCP"),
					}},
					ReadinessProbe: probe(5, 2),
					LivenessProbe:  probe(10, 3),
					Lifecycle: &corev1.LifecycleArgs{
						// Keep serving until the controller and the load balancer have stopped
						// sending here: longer than the deregistration delay.
						PreStop: &corev1.LifecycleHandlerArgs{Sleep: &corev1.SleepActionArgs{Seconds: pulumi.Int(PreStopSeconds)}},
					},
					Resources: &corev1.ResourceRequirementsArgs{
						Requests: pulumi.StringMap{"cpu": pulumi.String("50m"), "memory": pulumi.String("64Mi")},
						Limits:   pulumi.StringMap{"cpu": pulumi.String("500m"), "memory": pulumi.String("256Mi")},
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
	sum := sha256.Sum256([]byte(HTTPDConfig(args.Port, args.Host) + IndexPage(args.Name, args.Host)))
	return hex.EncodeToString(sum[:])
}
