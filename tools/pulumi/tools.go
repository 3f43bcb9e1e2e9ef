//go:build tools

// Package pulumi pins the Pulumi CLI that the lifecycle tests (internal/envlife, cmd/env) and
// the CI workflows run; scripts/install-tools.sh builds it into .tools/bin. It is never
// imported: the blank import only puts the CLI's package into this module's build list, so that
// `go build` inside this module compiles it at the version go.mod pins. (`go install
// github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v3.274.1` is refused because pkg/v3's go.mod has
// replace directives; a module that requires pkg/v3 builds it.)
package pulumi

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
