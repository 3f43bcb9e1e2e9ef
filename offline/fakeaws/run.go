package fakeaws

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Run runs body as a Pulumi program against a new fake, with the given (namespaced) config,
// and returns the fake with its record. The error is the program's.
func Run(project, stack string, opts Options, config map[string]string, body pulumi.RunFunc) (*Fake, error) {
	fake := New(project, stack, opts)
	err := pulumi.RunErr(body, pulumi.WithMocks(project, stack, fake), func(info *pulumi.RunInfo) {
		info.Config = config
		info.DryRun = opts.Preview
	})
	return fake, err
}
