package program

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/outside-in/outside-in/internal/naming"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	Key   string // the key, e.g. "natStrategy" or "apps[1].port"
	Value string // the offending value as the user wrote it ("" when missing)
	Want  string // what is allowed, phrased as a fix
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%s = %q: %s", Namespace, p.Key, p.Value, p.Want)
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

// Parse reads raw configuration values (keys without the namespace, values as Pulumi hands them
// to a program: plain strings, structured values as JSON) into a validated Config. A missing
// key takes its default; a malformed one is an error, never a default.
func Parse(project, stack string, raw map[string]string) (Config, error) {
	c := Defaults(project, stack)
	var problems []Problem
	known := map[string]KeySpec{}
	for _, k := range Keys {
		known[k.Name] = k
	}
	for _, name := range naming.SortedKeys(raw) {
		spec, ok := known[name]
		if !ok {
			problems = append(problems, Problem{Key: name, Value: raw[name], Want: unknownKeyHint(name)})
			continue
		}
		if err := spec.parse(&c, raw[name]); err != nil {
			problems = append(problems, Problem{Key: name, Value: raw[name], Want: err.Error()})
		}
	}
	// Keys that failed to parse keep their defaults, so validating the rest adds no noise.
	c.derive()
	problems = append(problems, c.validate()...)
	if len(problems) > 0 {
		return Config{}, &ConfigError{Stack: stack, Problems: problems}
	}
	return c, nil
}

func parseString(raw string, dst *string) error {
	*dst = raw
	return nil
}

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

func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %s must be a %s", te.Field, te.Type.Kind())
	}
	return err.Error()
}

func unknownKeyHint(name string) string {
	best, bestDist := "", 4
	for _, k := range Keys {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k.Name)); d < bestDist {
			best, bestDist = k.Name, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key; did you mean %s?", best)
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
