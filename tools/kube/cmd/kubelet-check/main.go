// Command kubelet-check asks the kubelet's own code whether it would start with the given
// command line and drop-in directory, the way k3s starts it (kubelet-arg values become flags;
// KubeletConfiguration drop-ins come from --config-dir). It builds the kubelet's flag set exactly
// as cmd/kubelet does (options.NewKubeletFlags, AddKubeletConfigFlags, AddGlobalFlags), parses
// the arguments with it, decodes every drop-in strictly with the kubelet's config scheme,
// merges the drop-ins as the kubelet does, re-applies the flags over them, and validates the
// result with the kubelet's own validation.
//
//	kubelet-check [--dropin-dir DIR] -- KUBELET-ARG...
//
// On success it prints the effective KubeletConfiguration as JSON (v1beta1) and exits 0; the
// first error the kubelet would stop with is printed and the exit status is 1; 2 is a usage
// error.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/pflag"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	cliflag "k8s.io/component-base/cli/flag"
	kubeletconfigv1beta1 "k8s.io/kubelet/config/v1beta1"
	"k8s.io/kubernetes/cmd/kubelet/app/options"
	kubeletconfig "k8s.io/kubernetes/pkg/kubelet/apis/config"
	kubeletscheme "k8s.io/kubernetes/pkg/kubelet/apis/config/scheme"
	kubeletconfigconv "k8s.io/kubernetes/pkg/kubelet/apis/config/v1beta1"
	kubeletconfigvalidation "k8s.io/kubernetes/pkg/kubelet/apis/config/validation"
	"sigs.k8s.io/yaml"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	top := flag.NewFlagSet("kubelet-check", flag.ContinueOnError)
	top.SetOutput(stderr)
	dropins := top.String("dropin-dir", "", "a KubeletConfiguration drop-in directory (*.conf), as --config-dir")
	if err := top.Parse(args); err != nil {
		return 2
	}
	out, err := check(top.Args(), *dropins)
	if err != nil {
		fmt.Fprintf(stderr, "kubelet-check: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, string(out))
	return 0
}

// check does what the kubelet's command does before it starts anything.
func check(kubeletArgs []string, dropinDir string) ([]byte, error) {
	fs := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
	fs.SetNormalizeFunc(cliflag.WordSepNormalizeFunc)
	fs.SetOutput(io.Discard)
	flags := options.NewKubeletFlags()
	config, err := options.NewKubeletConfiguration()
	if err != nil {
		return nil, err
	}
	flags.AddFlags(fs)
	options.AddKubeletConfigFlags(fs, config)
	options.AddGlobalFlags(fs)
	fs.BoolP("help", "h", false, "help")
	if err := fs.Parse(kubeletArgs); err != nil {
		return nil, fmt.Errorf("failed to parse kubelet flag: %w", err)
	}
	if rest := fs.Args(); len(rest) > 0 {
		return nil, fmt.Errorf("unknown command %s", rest[0])
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(config.FeatureGates); err != nil {
		return nil, fmt.Errorf("feature gates: %w", err)
	}
	if err := options.ValidateKubeletFlags(flags); err != nil {
		return nil, fmt.Errorf("failed to validate kubelet flags: %w", err)
	}
	if dropinDir != "" {
		if err := merge(config, dropinDir); err != nil {
			return nil, err
		}
		// The kubelet re-parses its command line over the merged configuration: flags win.
		again := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
		again.SetNormalizeFunc(cliflag.WordSepNormalizeFunc)
		again.SetOutput(io.Discard)
		global := pflag.NewFlagSet("", pflag.ContinueOnError)
		options.AddGlobalFlags(global)
		global.VisitAll(func(f *pflag.Flag) { again.VarP(cliflag.NoOp{}, f.Name, f.Shorthand, f.Usage) })
		options.NewKubeletFlags().AddFlags(again)
		options.AddKubeletConfigFlags(again, config)
		again.BoolP("help", "h", false, "help")
		if err := again.Parse(kubeletArgs); err != nil {
			return nil, err
		}
	}
	if err := kubeletconfigvalidation.ValidateKubeletConfiguration(config, utilfeature.DefaultFeatureGate); err != nil {
		return nil, fmt.Errorf("failed to validate kubelet configuration: %w", err)
	}
	versioned := &kubeletconfigv1beta1.KubeletConfiguration{}
	if err := kubeletconfigconv.Convert_config_KubeletConfiguration_To_v1beta1_KubeletConfiguration(config, versioned, nil); err != nil {
		return nil, err
	}
	return json.Marshal(versioned)
}

// merge applies the drop-ins (*.conf, in lexical order) as the kubelet's
// mergeKubeletConfigurations does, after decoding each one strictly: the kubelet merges
// drop-ins as JSON and so ignores a misspelt field, which the strict decoder refuses.
func merge(config *kubeletconfig.KubeletConfiguration, dir string) error {
	_, strict, err := kubeletscheme.NewSchemeAndCodecs(serializer.EnableStrict)
	if err != nil {
		return err
	}
	versioned := &kubeletconfigv1beta1.KubeletConfiguration{}
	if err := kubeletconfigconv.Convert_config_KubeletConfiguration_To_v1beta1_KubeletConfiguration(config, versioned, nil); err != nil {
		return err
	}
	base, err := json.Marshal(versioned)
	if err != nil {
		return err
	}
	var files []string
	if err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Ext(d.Name()) == ".conf" {
			files = append(files, path)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("failed to walk through kubelet dropin directory %q: %w", dir, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("no *.conf drop-in in %s: the kubelet would read nothing", dir)
	}
	sort.Strings(files)
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		obj, gvk, err := strict.UniversalDecoder().Decode(data, nil, nil)
		if err != nil {
			return fmt.Errorf("drop-in %s: %w", filepath.Base(path), err)
		}
		if _, ok := obj.(*kubeletconfig.KubeletConfiguration); !ok || gvk == nil ||
			*gvk != kubeletconfigv1beta1.SchemeGroupVersion.WithKind("KubeletConfiguration") {
			return fmt.Errorf("drop-in %s: not a %s KubeletConfiguration", filepath.Base(path), kubeletconfigv1beta1.SchemeGroupVersion)
		}
		asJSON, err := yaml.YAMLToJSON(data)
		if err != nil {
			return fmt.Errorf("drop-in %s: %w", filepath.Base(path), err)
		}
		if base, err = jsonpatch.MergePatch(base, asJSON); err != nil {
			return fmt.Errorf("failed to merge drop-in %s: %w", filepath.Base(path), err)
		}
	}
	versioned = &kubeletconfigv1beta1.KubeletConfiguration{}
	if err := json.Unmarshal(base, versioned); err != nil {
		return fmt.Errorf("failed to unmarshal merged JSON into kubelet configuration: %w", err)
	}
	kubeletconfigconv.SetDefaults_KubeletConfiguration(versioned)
	if err := kubeletconfigconv.Convert_v1beta1_KubeletConfiguration_To_config_KubeletConfiguration(versioned, config, nil); err != nil {
		return errors.New("failed to convert merged config to internal kubelet configuration: " + err.Error())
	}
	return nil
}
