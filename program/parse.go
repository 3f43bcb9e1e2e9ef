package program

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/outside-in/outside-in/internal/naming"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	// Namespace is the key's namespace; empty means outside-in.
	Namespace string
	Key       string // the key, e.g. "natStrategy" or "apps[1].port"
	Value     string // the offending value as the user wrote it ("" when missing)
	Want      string // what is allowed, phrased as a fix
}

func (p Problem) String() string {
	ns := p.Namespace
	if ns == "" {
		ns = Namespace
	}
	return fmt.Sprintf("%s:%s = %q: %s", ns, p.Key, p.Value, p.Want)
}

// ConfigError lists every problem found; nothing is registered when it is returned.
type ConfigError struct {
	Stack    string
	Problems []Problem
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration for stack %q (nothing was created):", e.Stack)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// IsConfigError reports whether err is (or wraps) a ConfigError.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// Parse reads a stack's configuration — every key with its namespace, values as Pulumi hands
// them to a program: plain strings, structured values as JSON — into a validated Config. It
// checks the outside-in keys (a missing key takes its default; a malformed one is an error, never
// a default) and the aws provider's keys, and returns warnings for keys of other namespaces,
// which Pulumi accepts silently but nothing here reads.
func Parse(project, stack string, config map[string]string) (Config, []string, error) {
	c := Defaults(project, stack)
	defaults := Defaults(project, stack)
	var problems []Problem
	known := map[string]KeySpec{}
	for _, k := range Keys {
		known[k.Name] = k
	}
	var set []KeySpec
	raw, others := splitNamespaces(config)
	for _, name := range naming.SortedKeys(raw) {
		spec, ok := known[name]
		if !ok {
			problems = append(problems, Problem{Key: name, Value: raw[name], Want: unknownKeyHint(name)})
			continue
		}
		if err := spec.read(&c, raw[name]); err != nil {
			problems = append(problems, Problem{Key: name, Value: raw[name], Want: err.Error()})
			continue
		}
		set = append(set, spec)
	}
	awsProblems, warnings := checkOtherNamespaces(others)
	problems = append(problems, awsProblems...)
	c.Region = others["aws:region"]
	problems = append(problems, c.modeProblems(set, &defaults)...)
	if len(c.AzNames) > 0 && c.AzCount != defaults.AzCount && c.AzCount != len(c.AzNames) {
		problems = append(problems, Problem{Key: KeyAzCount, Value: fmt.Sprint(c.AzCount),
			Want: fmt.Sprintf("but azNames lists %d zones; remove azCount (azNames sets the count) or make them agree", len(c.AzNames))})
	}

	// Keys that failed to parse keep their defaults, so validating the rest adds no noise.
	c.derive()
	problems = append(problems, c.validate()...)
	if len(problems) > 0 {
		return Config{}, warnings, &ConfigError{Stack: stack, Problems: problems}
	}
	return c, warnings, nil
}

// modeProblems refuses keys set, to anything but their default, in a cluster mode they mean
// nothing in.
func (c Config) modeProblems(set []KeySpec, defaults *Config) []Problem {
	if !slices.Contains([]string{ClusterModeEKS, ClusterModeK3s, ClusterModeExisting}, c.ClusterMode) {
		return nil // validate reports the mode itself
	}
	var out []Problem
	for _, k := range set {
		if k.appliesTo(c.ClusterMode) || k.isDefault(&c, defaults) {
			continue
		}
		out = append(out, Problem{Key: k.Name, Value: displayValue(k.field(&c)),
			Want: fmt.Sprintf("applies only to %s; remove it from a %s stack", modesText(k.Modes), c.ClusterMode)})
	}
	return out
}

// displayValue renders a field's value as a user wrote it.
func displayValue(field any) string { return asWritten(reflect.ValueOf(field).Elem().Interface()) }

func parseInt(raw string, dst *int) error {
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil {
		return fmt.Errorf("must be a whole number")
	}
	*dst = n
	return nil
}

func parseBool(raw string, dst *bool) error {
	switch strings.TrimSpace(raw) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		return fmt.Errorf("must be true or false")
	}
	return nil
}

func parseStrings(raw string, dst *[]string) error {
	out := []string{}
	if err := strictJSON(raw, &out); err != nil {
		return fmt.Errorf("must be a list of strings, e.g. [\"a\", \"b\"]")
	}
	*dst = out
	return nil
}

func parseStringMap(raw string, dst *map[string]string) error {
	out := map[string]string{}
	if err := strictJSON(raw, &out); err != nil {
		return fmt.Errorf("must be a map of strings to strings, e.g. {\"team\": \"web\"}")
	}
	*dst = out
	return nil
}

// rawApp tells a field that was left out (nil) from one set to a zero value.
type rawApp struct {
	Name       *string `json:"name"`
	Host       *string `json:"host"`
	Image      *string `json:"image"`
	Replicas   *int    `json:"replicas"`
	Port       *int    `json:"port"`
	HealthPath *string `json:"healthPath"`
}

func parseApps(raw string, dst *[]App) error {
	var in []rawApp
	if err := strictJSON(raw, &in); err != nil {
		return fmt.Errorf("must be a list of apps, each {name, host, image, replicas, port, healthPath}"+
			" with only those fields (%s)", jsonReason(err))
	}
	out := make([]App, len(in))
	for i, r := range in {
		a := App{Image: DefaultAppImage, Replicas: 2, Port: 8080, HealthPath: "/index.html"}
		setIf(&a.Name, r.Name)
		setIf(&a.Host, r.Host)
		setIf(&a.Image, r.Image)
		setIf(&a.Replicas, r.Replicas)
		setIf(&a.Port, r.Port)
		setIf(&a.HealthPath, r.HealthPath)
		out[i] = a
	}
	*dst = out
	return nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// strictJSON decodes exactly one JSON value and refuses unknown object fields.
func strictJSON(raw string, dst any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the value")
	}
	return nil
}

// jsonReason says what was wrong with a decoded object in the words of the configuration, not
// of Go: "field replicas must be a whole number", "unknown field nmae".
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %s must be %s", te.Field, kindWords(te.Type.Kind()))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return "unknown field " + strings.Trim(f, `"`)
	}
	return msg
}

func kindWords(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}

func unknownKeyHint(name string) string {
	if hint := closest(name, KeyNames(), "unknown key; did you mean %s?"); hint != "" {
		return hint
	}
	return "unknown key; see the configuration table in README.md for the keys outside-in reads"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func parseGithubOidc(raw string, dst *GithubOidc) error {
	out := DefaultGithubOidc()
	if err := strictJSON(raw, &out); err != nil {
		return fmt.Errorf("must be an object {repository: owner/name, environments: [names], subjectTemplate, providerArn, stateBucket} with only those fields (%s)", jsonReason(err))
	}
	if out.Environments == nil {
		out.Environments = []string{}
	}
	*dst = out
	return nil
}
