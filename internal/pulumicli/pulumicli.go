// Package pulumicli finds the project and the Pulumi CLI that the commands drive through the
// Automation API.
package pulumicli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// EnvPulumi is the Pulumi CLI to run; without it, <project>/.tools/bin/pulumi when built
// there, else pulumi on PATH.
const EnvPulumi = "OUTSIDE_IN_PULUMI"

// ProjectDir walks up from dir to the directory holding Pulumi.yaml. command names the
// command for the error.
func ProjectDir(dir, command string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "Pulumi.yaml")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no Pulumi.yaml in %s or above it: run %s inside the outside-in repository", dir, command)
		}
	}
}

// Command finds the CLI: $OUTSIDE_IN_PULUMI, the project's .tools/bin/pulumi, or PATH.
func Command(getenv func(string) string, projectDir string) (auto.PulumiCommand, error) {
	// auto.NewPulumiCommand runs <Root>/bin/pulumi, or pulumi on PATH when Root is empty.
	root := ""
	if p := getenv(EnvPulumi); p != "" {
		if filepath.Base(p) != "pulumi" || filepath.Base(filepath.Dir(p)) != "bin" {
			return nil, fmt.Errorf("%s=%s: must be the path of a pulumi binary in a bin directory, e.g. /opt/pulumi/bin/pulumi", EnvPulumi, p)
		}
		root = filepath.Dir(filepath.Dir(p))
	} else if _, err := os.Stat(filepath.Join(projectDir, ".tools", "bin", "pulumi")); err == nil {
		root = filepath.Join(projectDir, ".tools")
	}
	cli, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		return nil, fmt.Errorf("no usable Pulumi CLI (run scripts/install-tools.sh, or set %s): %w", EnvPulumi, err)
	}
	return cli, nil
}
