// Package jsonpatch applies JSON Patch documents (RFC 6902) to JSON
// values, for the FHIR PATCH interaction. Numbers pass through as written
// (72.0 stays 72.0), which FHIR decimals need.
//
// It knows nothing of FHIR: validating the patched resource is the
// caller's job.
package jsonpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid marks a patch document that is not a valid JSON Patch.
var ErrInvalid = errors.New("invalid JSON Patch")

// ErrNotApplicable marks a valid patch that cannot be applied to this
// document: a path that does not exist, or a failed test.
var ErrNotApplicable = errors.New("JSON Patch does not apply")

type operation struct {
	Op    string           `json:"op"`
	Path  *string          `json:"path"`
	From  *string          `json:"from"`
	Value *json.RawMessage `json:"value"`
}

// Apply applies patch to doc and returns the patched document, compact.
// Errors wrap ErrInvalid or ErrNotApplicable and name the operation.
func Apply(doc, patch []byte) ([]byte, error) {
	var ops []operation
	if err := json.Unmarshal(patch, &ops); err != nil {
		return nil, fmt.Errorf("%w: the document must be a JSON array of operations: %v", ErrInvalid, err)
	}
	root, err := decode(doc)
	if err != nil {
		return nil, fmt.Errorf("patching: target is not JSON: %w", err)
	}
	for i, op := range ops {
		if root, err = op.apply(root); err != nil {
			return nil, fmt.Errorf("operation %d (%s): %w", i, op.Op, err)
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

func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func (op operation) apply(root any) (any, error) {
	if op.Path == nil {
		return nil, fmt.Errorf("%w: no path", ErrInvalid)
	}
	path, err := parsePointer(*op.Path)
	if err != nil {
		return nil, err
	}
	value := func() (any, error) {
		if op.Value == nil {
			return nil, fmt.Errorf("%w: no value", ErrInvalid)
		}
		return decode(*op.Value)
	}
	from := func() ([]string, error) {
		if op.From == nil {
			return nil, fmt.Errorf("%w: no from", ErrInvalid)
		}
		return parsePointer(*op.From)
	}
	switch op.Op {
	case "add":
		v, err := value()
		if err != nil {
			return nil, err
		}
		return add(root, path, v)
	case "remove":
		if len(path) == 0 {
			return nil, fmt.Errorf("%w: cannot remove the whole document", ErrNotApplicable)
		}
		return remove(root, path)
	case "replace":
		v, err := value()
		if err != nil {
			return nil, err
		}
		if _, err := get(root, path); err != nil {
			return nil, err
		}
		if len(path) == 0 {
			return v, nil
		}
		root, err = remove(root, path)
		if err != nil {
			return nil, err
		}
		return add(root, path, v)
	case "move", "copy":
		f, err := from()
		if err != nil {
			return nil, err
		}
		v, err := get(root, f)
		if err != nil {
			return nil, err
		}
		if op.Op == "move" {
			if isPrefix(f, path) && len(f) < len(path) {
				return nil, fmt.Errorf("%w: cannot move a value into itself", ErrNotApplicable)
			}
			if root, err = remove(root, f); err != nil {
				return nil, err
			}
		} else {
			v = deepCopy(v)
		}
		return add(root, path, v)
	case "test":
		v, err := value()
		if err != nil {
			return nil, err
		}
		got, err := get(root, path)
		if err != nil {
			return nil, err
		}
		if !equal(got, v) {
			return nil, fmt.Errorf("%w: test of %s failed", ErrNotApplicable, *op.Path)
		}
		return root, nil
	}
	return nil, fmt.Errorf("%w: unknown op %q", ErrInvalid, op.Op)
}

// parsePointer splits a JSON Pointer (RFC 6901) into unescaped tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("%w: path %q does not start with /", ErrInvalid, p)
	}
	parts := strings.Split(p[1:], "/")
	for i, t := range parts {
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(t, "~0", ""), "~1", ""), "~") {
			return nil, fmt.Errorf("%w: bad escape in path %q", ErrInvalid, p)
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

func isPrefix(a, b []string) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// index reads an array index token; "-" (past the end) only when allowed.
func index(tok string, n int, allowEnd bool) (int, error) {
	if tok == "-" && allowEnd {
		return n, nil
	}
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return 0, fmt.Errorf("%w: %q is not an array index", ErrNotApplicable, tok)
	}
	i, err := strconv.Atoi(tok)
	limit := n - 1
	if allowEnd {
		limit = n
	}
	if err != nil || i < 0 || i > limit {
		return 0, fmt.Errorf("%w: index %q out of range (length %d)", ErrNotApplicable, tok, n)
	}
	return i, nil
}

// modify replaces the value at path by fn's result, returning the new root.
func modify(node any, path []string, fn func(any) (any, error)) (any, error) {
	if len(path) == 0 {
		return fn(node)
	}
	switch n := node.(type) {
	case map[string]any:
		child, ok := n[path[0]]
		if !ok {
			return nil, fmt.Errorf("%w: no member %q", ErrNotApplicable, path[0])
		}
		c, err := modify(child, path[1:], fn)
		if err != nil {
			return nil, err
		}
		n[path[0]] = c
		return n, nil
	case []any:
		i, err := index(path[0], len(n), false)
		if err != nil {
			return nil, err
		}
		c, err := modify(n[i], path[1:], fn)
		if err != nil {
			return nil, err
		}
		n[i] = c
		return n, nil
	}
	return nil, fmt.Errorf("%w: %q is inside a value that is neither object nor array", ErrNotApplicable, path[0])
}

func get(root any, path []string) (any, error) {
	var out any
	_, err := modify(root, path, func(v any) (any, error) { out = v; return v, nil })
	return out, err
}

func add(root any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	last := path[len(path)-1]
	return modify(root, path[:len(path)-1], func(parent any) (any, error) {
		switch p := parent.(type) {
		case map[string]any:
			p[last] = v
			return p, nil
		case []any:
			i, err := index(last, len(p), true)
			if err != nil {
				return nil, err
			}
			p = append(p, nil)
			copy(p[i+1:], p[i:])
			p[i] = v
			return p, nil
		}
		return nil, fmt.Errorf("%w: cannot add %q to a value that is neither object nor array", ErrNotApplicable, last)
	})
}

func remove(root any, path []string) (any, error) {
	last := path[len(path)-1]
	return modify(root, path[:len(path)-1], func(parent any) (any, error) {
		switch p := parent.(type) {
		case map[string]any:
			if _, ok := p[last]; !ok {
				return nil, fmt.Errorf("%w: no member %q", ErrNotApplicable, last)
			}
			delete(p, last)
			return p, nil
		case []any:
			i, err := index(last, len(p), false)
			if err != nil {
				return nil, err
			}
			return append(p[:i:i], p[i+1:]...), nil
		}
		return nil, fmt.Errorf("%w: cannot remove %q from a value that is neither object nor array", ErrNotApplicable, last)
	})
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// equal compares JSON values as RFC 6902's test does: numbers by value.
func equal(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		fa, err1 := a.Float64()
		fb, err2 := bn.Float64()
		return err1 == nil && err2 == nil && fa == fb
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !equal(a[i], bs[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}
