// Package fhirpatch applies FHIRPath Patch documents (a Parameters resource
// of "operation" parameters; FHIR R4 fhirpatch.html) to FHIR JSON
// resources. Paths use the subset of FHIRPath that patches need: element
// names, [index], where(name = 'literal' and …), first() and last(). A path
// outside it is refused, never guessed at.
//
// Validating the patched resource is the caller's job.
package fhirpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// ErrInvalid marks a patch document that is not a valid FHIRPath Patch, or
// uses FHIRPath this package does not evaluate.
var ErrInvalid = errors.New("invalid FHIRPath Patch")

// ErrNotApplicable marks a valid patch that cannot be applied to this
// resource: a path that selects nothing or too much, an index out of range.
var ErrNotApplicable = errors.New("FHIRPath Patch does not apply")

type parameter struct {
	Name string            `json:"name"`
	Part []json.RawMessage `json:"part"`
}

// op is one operation read from the Parameters.
type op struct {
	typ, path, name            string
	value                      any
	hasValue                   bool
	index, source, destination *int
}

// Apply applies the Parameters patch to the resource and returns it compact.
func Apply(resource, patch []byte) ([]byte, error) {
	ops, err := parseOps(patch)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(resource))
	d.UseNumber()
	var root map[string]any
	if err := d.Decode(&root); err != nil {
		return nil, fmt.Errorf("patching: resource is not a JSON object: %w", err)
	}
	rt, _ := root["resourceType"].(string)
	for i, o := range ops {
		if err := o.apply(rt, root); err != nil {
			return nil, fmt.Errorf("operation %d (%s %s): %w", i, o.typ, o.path, err)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func parseOps(patch []byte) ([]op, error) {
	var p struct {
		ResourceType string      `json:"resourceType"`
		Parameter    []parameter `json:"parameter"`
	}
	d := json.NewDecoder(bytes.NewReader(patch))
	d.UseNumber()
	if err := d.Decode(&p); err != nil || p.ResourceType != "Parameters" {
		return nil, fmt.Errorf("%w: the body must be a Parameters resource", ErrInvalid)
	}
	var ops []op
	for i, param := range p.Parameter {
		if param.Name != "operation" {
			return nil, fmt.Errorf("%w: parameter %d is %q; every parameter must be an operation", ErrInvalid, i, param.Name)
		}
		o, err := parseOp(param.Part)
		if err != nil {
			return nil, fmt.Errorf("operation %d: %w", i, err)
		}
		ops = append(ops, o)
	}
	return ops, nil
}

func parseOp(parts []json.RawMessage) (op, error) {
	var o op
	for _, raw := range parts {
		name, v, err := partValue(raw)
		if err != nil {
			return o, err
		}
		str, _ := v.(string)
		switch name {
		case "type":
			o.typ = str
		case "path":
			o.path = str
		case "name":
			o.name = str
		case "value":
			o.value, o.hasValue = v, true
		case "index", "source", "destination":
			n, ok := v.(json.Number)
			i, err := strconv.Atoi(string(n))
			if !ok || err != nil || i < 0 {
				return o, fmt.Errorf("%w: %s must be a non-negative valueInteger", ErrInvalid, name)
			}
			switch name {
			case "index":
				o.index = &i
			case "source":
				o.source = &i
			default:
				o.destination = &i
			}
		default:
			return o, fmt.Errorf("%w: unknown part %q", ErrInvalid, name)
		}
	}
	need := map[string][]bool{ // path, name, value, index, source+destination
		"add":     {true, true, true, false, false},
		"insert":  {true, false, true, true, false},
		"delete":  {true, false, false, false, false},
		"replace": {true, false, true, false, false},
		"move":    {true, false, false, false, true},
	}[o.typ]
	if need == nil {
		return o, fmt.Errorf("%w: type %q is not add, insert, delete, replace or move", ErrInvalid, o.typ)
	}
	if o.path == "" || (need[1] && o.name == "") || (need[2] && !o.hasValue) || (need[3] && o.index == nil) ||
		(need[4] && (o.source == nil || o.destination == nil)) {
		return o, fmt.Errorf("%w: %s needs path%s", ErrInvalid, o.typ, map[string]string{
			"add": ", name and value", "insert": ", value and index", "replace": " and value", "move": ", source and destination"}[o.typ])
	}
	return o, nil
}

// partValue reads one part: its name and its value[x], or, for a complex
// value given as parts, the object they build.
func partValue(raw json.RawMessage) (string, any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return "", nil, fmt.Errorf("%w: part is not an object", ErrInvalid)
	}
	name, _ := m["name"].(string)
	for k, v := range m {
		if len(k) > 5 && k[:5] == "value" {
			return name, v, nil
		}
	}
	if sub, ok := m["part"].([]any); ok {
		obj := map[string]any{}
		for _, s := range sub {
			b, _ := json.Marshal(s)
			n, v, err := partValue(b)
			if err != nil {
				return "", nil, err
			}
			if prev, exists := obj[n]; exists {
				if arr, isArr := prev.([]any); isArr {
					obj[n] = append(arr, v)
				} else {
					obj[n] = []any{prev, v}
				}
				continue
			}
			obj[n] = v
		}
		return name, obj, nil
	}
	return name, nil, nil
}

func (o op) apply(rt string, root map[string]any) error {
	typ, steps, err := parsePath(o.path)
	if err != nil {
		return err
	}
	if typ != rt {
		return fmt.Errorf("%w: path starts with %s, the resource is %s", ErrNotApplicable, typ, outcome.Article(rt))
	}
	nodes := eval(root, steps)
	switch o.typ {
	case "add":
		if len(nodes) != 1 {
			return fmt.Errorf("%w: the path selects %d elements, add needs one", ErrNotApplicable, len(nodes))
		}
		m, ok := nodes[0].val.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: the path selects a primitive, add needs an element with children", ErrNotApplicable)
		}
		switch cur := m[o.name].(type) {
		case nil:
			names := append(append([]string(nil), nodes[0].names...), o.name)
			if repeated, _ := fhirjson.Repeated(rt, names...); repeated {
				m[o.name] = []any{o.value}
			} else {
				m[o.name] = o.value
			}
		case []any:
			m[o.name] = append(cur, o.value)
		default:
			return fmt.Errorf("%w: %s already has %s, which does not repeat; use replace", ErrNotApplicable, o.path, o.name)
		}
	case "insert", "move":
		arr, set, err := list(nodes)
		if err != nil {
			return err
		}
		if o.typ == "insert" {
			if *o.index > len(arr) {
				return fmt.Errorf("%w: index %d past the end of a list of %d", ErrNotApplicable, *o.index, len(arr))
			}
			arr = append(arr, nil)
			copy(arr[*o.index+1:], arr[*o.index:])
			arr[*o.index] = o.value
		} else {
			if *o.source >= len(arr) || *o.destination >= len(arr) {
				return fmt.Errorf("%w: source %d or destination %d outside a list of %d", ErrNotApplicable, *o.source, *o.destination, len(arr))
			}
			v := arr[*o.source]
			arr = append(arr[:*o.source:*o.source], arr[*o.source+1:]...)
			arr = append(arr, nil)
			copy(arr[*o.destination+1:], arr[*o.destination:])
			arr[*o.destination] = v
		}
		set(arr)
	case "delete":
		if len(nodes) == 0 {
			return nil
		}
		if len(nodes) > 1 {
			return fmt.Errorf("%w: the path selects %d elements, delete removes one", ErrNotApplicable, len(nodes))
		}
		n := nodes[0]
		if n.obj == nil {
			return fmt.Errorf("%w: cannot delete the resource itself", ErrNotApplicable)
		}
		if n.idx < 0 {
			delete(n.obj, n.key)
			return nil
		}
		arr := n.obj[n.key].([]any)
		arr = append(arr[:n.idx:n.idx], arr[n.idx+1:]...)
		if len(arr) == 0 {
			delete(n.obj, n.key)
		} else {
			n.obj[n.key] = arr
		}
	case "replace":
		if len(nodes) != 1 {
			return fmt.Errorf("%w: the path selects %d elements, replace needs one", ErrNotApplicable, len(nodes))
		}
		n := nodes[0]
		if n.obj == nil {
			return fmt.Errorf("%w: cannot replace the resource itself", ErrNotApplicable)
		}
		if n.idx < 0 {
			n.obj[n.key] = o.value
		} else {
			n.obj[n.key].([]any)[n.idx] = o.value
		}
	}
	return nil
}

// list returns the array the nodes are the elements of, and a setter.
func list(nodes []node) ([]any, func([]any), error) {
	if len(nodes) == 0 {
		return nil, nil, fmt.Errorf("%w: the path selects no list", ErrNotApplicable)
	}
	first := nodes[0]
	arr, ok := first.obj[first.key].([]any)
	if first.obj == nil || first.idx < 0 || !ok || len(nodes) != len(arr) {
		return nil, nil, fmt.Errorf("%w: the path must select a whole list", ErrNotApplicable)
	}
	return arr, func(a []any) { first.obj[first.key] = a }, nil
}
