package fakeaws

import (
	"encoding/json"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Markers Pulumi uses in exported state for secrets and unknown values.
const (
	SecretSig   = "4dabf18193072939515e22adb298388d"
	SecretValue = "1b47061264138c4ac30d75fd1eb44270"
	Unknown     = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
)

// In returns the input at a path of keys and indexes, as plain data (nil when absent).
func (r *Resource) In(path ...any) any { return Get(r.PlainInputs(), path...) }

// Out returns the output at a path of keys and indexes, as plain data (nil when absent).
func (r *Resource) Out(path ...any) any { return Get(r.PlainOutputs(), path...) }

// PlainInputs are the inputs as plain data, converted once.
func (r *Resource) PlainInputs() map[string]any {
	r.plainOnce.Do(r.makePlain)
	return r.plainIn
}

// PlainOutputs are the outputs as plain data, converted once.
func (r *Resource) PlainOutputs() map[string]any {
	r.plainOnce.Do(r.makePlain)
	return r.plainOut
}

func (r *Resource) makePlain() {
	r.plainIn, r.plainOut = Plain(r.Inputs), Plain(r.Outputs)
}

// Get walks a path of map keys and list indexes through plain data.
func Get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// Plain renders Pulumi property values as exported state does.
func Plain(m resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if v.IsNull() {
			continue
		}
		out[string(k)] = propertyValue(v)
	}
	return out
}

func propertyValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		b, _ := json.Marshal(propertyValue(v.SecretValue().Element))
		return map[string]any{SecretSig: SecretValue, "plaintext": string(b)}
	case v.IsComputed():
		return Unknown
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return Unknown
		}
		if o.Secret {
			return propertyValue(resource.MakeSecret(o.Element))
		}
		return propertyValue(o.Element)
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsArray():
		arr := []any{}
		for _, e := range v.ArrayValue() {
			arr = append(arr, propertyValue(e))
		}
		return arr
	case v.IsObject():
		return Plain(v.ObjectValue())
	case v.IsAsset() || v.IsArchive():
		return v.Mappable()
	default:
		return v.V
	}
}

// Reveal is a secret's value as plain data (a value that is no secret as it is), and whether
// it was a secret.
func Reveal(v any) (any, bool) {
	m, ok := v.(map[string]any)
	if !ok || m[SecretSig] != SecretValue {
		return v, false
	}
	text, _ := m["plaintext"].(string)
	var out any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return text, true
	}
	return out, true
}
