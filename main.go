// Command outside-in is the Pulumi program: `pulumi up` runs it. The wiring lives in package
// program, which the offline plan (cmd/plan) and the tests run too.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/program"
)

func main() {
	pulumi.Run(program.Run)
}
