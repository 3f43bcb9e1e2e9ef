package plan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	pkgworkspace "github.com/pulumi/pulumi/pkg/v3/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/esc"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// StackFileError is a stack file the Pulumi CLI would refuse to run with: unreadable, not
// YAML, or with a value of the wrong type for a key Pulumi.yaml declares.
type StackFileError struct {
	File string
	Err  error
}

func (e *StackFileError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }
func (e *StackFileError) Unwrap() error { return e.Err }

// LoadStack reads a stack file the way the Pulumi CLI does before it runs the program: the
// project file and the stack file through the Pulumi SDK's own loaders
// (workspace.LoadProject, workspace.LoadProjectStack: YAML 1.2, so `off` is the string "off"),
// then the project's declared types, defaults and required keys through the same function the
// CLI calls (pkg/workspace.ValidateStackConfigAndApplyProjectConfig). The result is the
// configuration the engine hands the program: every key namespaced, every value a string, lists
// and maps as JSON. The stack is named after the file (Pulumi.<name>.yaml).
func LoadStack(projectFile, stackFile string) (Stack, error) {
	name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(stackFile), "Pulumi."), ".yaml")
	if name == filepath.Base(stackFile) || name == "" {
		name = "dev"
	}
	return LoadStackNamed(projectFile, stackFile, name)
}

// LoadStackNamed is LoadStack for a stack whose name is not its file's.
func LoadStackNamed(projectFile, stackFile, name string) (Stack, error) {
	project, err := workspace.LoadProject(projectFile)
	if err != nil {
		return Stack{}, &StackFileError{File: projectFile, Err: err}
	}
	if _, err := os.Stat(stackFile); err != nil {
		return Stack{}, &StackFileError{File: stackFile, Err: errors.Unwrap(err)}
	}
	var warnings bytes.Buffer
	sink := diag.DefaultSink(&warnings, &warnings, diag.FormatOptions{Color: colors.Never})
	ps, err := workspace.LoadProjectStack(sink, project, stackFile)
	if err != nil {
		return Stack{}, &StackFileError{File: stackFile, Err: err}
	}
	for k, v := range ps.Config {
		if v.Secure() {
			return Stack{}, &StackFileError{File: stackFile, Err: fmt.Errorf(
				"%s is encrypted (secure); the offline plan has no key to decrypt it: give it in plaintext in a copy of the stack file", k)}
		}
	}
	// The CLI validates with the stack's decrypter; with no secure value, none is needed.
	crypter := config.NewErrorCrypter("the offline plan cannot encrypt or decrypt configuration")
	if err := pkgworkspace.ValidateStackConfigAndApplyProjectConfig(context.Background(), name, project, esc.Value{},
		ps.Config, crypter, config.NopDecrypter); err != nil {
		return Stack{}, &StackFileError{File: stackFile, Err: explainTypeError(err, ps.Config)}
	}
	plain, err := ps.Config.Decrypt(config.NopDecrypter)
	if err != nil {
		return Stack{}, &StackFileError{File: stackFile, Err: err}
	}
	s := Stack{Name: name, Config: map[string]string{}, Warnings: nonEmptyLines(warnings.String())}
	for k, v := range plain {
		s.Config[k.String()] = v
	}
	return s, nil
}

// explainTypeError adds the value to Pulumi's type error, which names only the key and the type,
// and the YAML rule behind the most common surprise.
func explainTypeError(err error, m config.Map) error {
	msg := err.Error()
	const marker = "with configuration key '"
	i := strings.Index(msg, marker)
	if i < 0 || !strings.Contains(msg, "must be of type") {
		return err
	}
	keyName := msg[i+len(marker):]
	keyName = keyName[:strings.IndexByte(keyName, '\'')]
	key, perr := config.ParseKey(keyName)
	if perr != nil {
		return err
	}
	v, ok := m[key]
	if !ok {
		return err
	}
	raw, verr := v.Value(config.NopDecrypter)
	if verr != nil {
		return err
	}
	hint := ""
	if strings.Contains(msg, "'boolean'") {
		hint = " (write true or false: Pulumi reads YAML 1.2, where on/off/yes/no are strings)"
	}
	return fmt.Errorf("%s = %q: %s%s", keyName, raw, msg, hint)
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}
