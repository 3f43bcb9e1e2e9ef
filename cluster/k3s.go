package cluster

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/kubewait"
	"github.com/outside-in/outside-in/internal/naming"
	"github.com/outside-in/outside-in/network"
)

// K3sArgs configures a k3s cluster on EC2.
type K3sArgs struct {
	// Name is the cluster's name; the network's subnets carry it in their ownership tag.
	Name    string
	Release K3sRelease
	// Servers is 1 (sqlite) or 3 (embedded etcd).
	Servers            int
	ServerInstanceType string
	// AMIs are the Amazon Linux 2023 images by architecture, from AWS's public SSM parameters.
	AMIs map[Arch]string
	// Nodes size the agents, which run the workloads.
	Nodes NodeGroupArgs

	VpcID                             pulumi.StringInput
	VpcCidr                           string
	PrivateSubnetIDs, PublicSubnetIDs pulumi.StringArrayInput
	// Subnets is the network's plan, in AZ order: the servers' fixed addresses come from it.
	Subnets []network.SubnetPair

	// PublicAccessCidrs, when not empty, puts the API load balancer in the public subnets,
	// open to exactly these CIDRs; empty keeps it internal, open to the VPC.
	PublicAccessCidrs []string
	// ParameterPathPrefix is the stack's path in SSM Parameter Store.
	ParameterPathPrefix string
	// Deployer is the IAM principal running Pulumi: with the node roles, the only one the
	// parameters key lets use it (to write the parameters).
	Deployer string

	Region, Partition, AccountID string
	// WaitForAPI is asked before the Kubernetes provider is built (not on preview).
	WaitForAPI APIWaiter

	NamePrefix string
	Tags       map[string]string
}

// K3s is the k3s cluster component.
type K3s struct {
	pulumi.ResourceState
}

type k3sBuilder struct {
	ctx    *pulumi.Context
	name   string
	args   K3sArgs
	parent pulumi.ResourceOption
}

func (k *k3sBuilder) tags(role string) pulumi.StringMap {
	return naming.Tags(k.args.Tags, k.args.NamePrefix+"-k3s-"+role)
}

// NewK3s builds a k3s cluster: the CAs and tokens, their parameters, the security groups, the
// API load balancer, the servers and the agents, then the Kubernetes provider, which the program
// uses only once the API answers through the load balancer with the generated credentials and
// the agents are Ready.
func NewK3s(ctx *pulumi.Context, name string, args K3sArgs, opts ...pulumi.ResourceOption) (*Result, error) {
	if args.Servers != 1 && args.Servers != 3 {
		return nil, fmt.Errorf("cluster: k3s needs 1 or 3 servers, not %d", args.Servers)
	}
	if len(args.Subnets) == 0 {
		return nil, fmt.Errorf("cluster: k3s needs the network's subnet plan")
	}
	if args.Deployer == "" {
		return nil, fmt.Errorf("cluster: k3s needs the deployer's IAM principal for its parameters key")
	}
	serverArch, err := InstanceArch(args.ServerInstanceType)
	if err != nil {
		return nil, fmt.Errorf("cluster: server instance type %s %v", args.ServerInstanceType, err)
	}
	for _, arch := range []Arch{args.Nodes.Arch, serverArch} {
		if args.AMIs[arch] == "" || args.Release.SHA256[arch] == "" {
			return nil, fmt.Errorf("cluster: no image or k3s checksum for %s", arch)
		}
	}
	c := &K3s{}
	if err := ctx.RegisterComponentResource("outside-in:cluster:K3s", name, c, opts...); err != nil {
		return nil, err
	}
	k := &k3sBuilder{ctx: ctx, name: name, args: args, parent: pulumi.Parent(c)}

	pki, err := k.pki()
	if err != nil {
		return nil, err
	}
	server, err := k.nodeProfile("server")
	if err != nil {
		return nil, err
	}
	agent, err := k.nodeProfile("agent")
	if err != nil {
		return nil, err
	}
	key, err := k.parametersKey(server.role, agent.role)
	if err != nil {
		return nil, err
	}
	params, err := k.parameters(pki, key)
	if err != nil {
		return nil, err
	}
	groups, err := k.securityGroups()
	if err != nil {
		return nil, err
	}
	// Reserved before anything else takes an address in the private subnets.
	reserved, err := k.reserveServerAddresses()
	if err != nil {
		return nil, err
	}
	api, tg, apiReady, err := k.apiLoadBalancer(groups[GroupAPILB], reserved)
	if err != nil {
		return nil, err
	}
	servers, err := k.servers(groups[GroupServers], server.profile, tg, slices.Concat(params, server.policies, reserved),
		pulumi.StringArray{api.DnsName}.ToStringArrayOutput())
	if err != nil {
		return nil, err
	}
	agents, err := k.agents(groups[GroupAgents], agent.profile, slices.Concat(params, agent.policies, servers, reserved))
	if err != nil {
		return nil, err
	}

	endpoint := pulumi.Sprintf("https://%s:%d", api.DnsName, APIPort)
	kubeconfig := k3sKubeconfig(args.Name, endpoint, pki.serverCA, pki.admin)
	// The servers boot, form the cluster and register behind the load balancer; then the agents
	// join. The provider gets the kubeconfig once the API answers it and the agents are Ready.
	waitOpts := kubewait.DefaultOptions
	waitOpts.MinReadyNodes = args.Nodes.DesiredSize
	ready := gateOnAPI(ctx, kubeconfig, append(append(apiReady, servers...), agents), args.WaitForAPI, waitOpts)
	provider, err := kubernetes.NewProvider(ctx, naming.Child(name, "k8s"), &kubernetes.ProviderArgs{
		Kubeconfig: ready,
	}, k.parent, pulumi.DependsOn(append(append(apiReady, servers...), agents)))
	if err != nil {
		return nil, fmt.Errorf("cluster: kubernetes provider: %w", err)
	}

	agentGroups := pulumi.StringArray{agents.Name}.ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"name":                      pulumi.String(args.Name),
		"endpoint":                  endpoint,
		"nodeSecurityGroupId":       groups[GroupAgents].ID(),
		"nodeAutoscalingGroupNames": agentGroups,
		"kubeconfig":                kubeconfig,
	}); err != nil {
		return nil, fmt.Errorf("cluster: registering outputs: %w", err)
	}
	return &Result{
		Name:                      pulumi.String(args.Name).ToStringOutput(),
		Kubeconfig:                kubeconfig,
		EnvironmentKubeconfig:     k3sKubeconfig(args.Name+"-environments", endpoint, pki.serverCA, pki.environments),
		Provider:                  provider,
		NodeSecurityGroupID:       groups[GroupAgents].ID().ToStringOutput(),
		NodeAutoscalingGroupNames: agentGroups,
		Arch:                      args.Nodes.Arch,
		Ready:                     []pulumi.Resource{agents},
	}, nil
}
