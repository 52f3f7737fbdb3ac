package fhirjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"hpsandbox/fhirstore/outcome"
)

// relativeRef is the shape of a relative literal reference: Type/id, with
// an optional version.
var relativeRef = regexp.MustCompile(`^([A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?$`)

var refKey = []byte(`"reference":"`)

// MapReferences calls fn with every literal reference (Reference.reference)
// in a compacted resource and returns the body with each reference for
// which fn returns ok replaced by the returned string. It scans bytes: an
// element named "reference" exists only in the Reference data type, and the
// key cannot be mistaken inside a string, where its quotes are escaped.
func MapReferences(compact []byte, fn func(ref string) (replacement string, ok bool, err error)) ([]byte, error) {
	var out []byte // nil until a reference is replaced
	done := 0      // compact[:done] is in out
	var err error
	for i := 0; ; {
		k := bytes.Index(compact[i:], refKey)
		if k < 0 {
			break
		}
		start := i + k + len(refKey) - 1
		end := scanString(compact, start)
		if end < 0 {
			return nil, errMalformed
		}
		var ref string
		if bytes.IndexByte(compact[start+1:end-1], '\\') < 0 {
			ref = string(compact[start+1 : end-1]) // nothing to unescape
		} else if ref, err = strconv.Unquote(string(compact[start:end])); err != nil {
			// Escapes that Go does not share with JSON (\/): decode as JSON.
			if jerr := json.Unmarshal(compact[start:end], &ref); jerr != nil {
				return nil, errMalformed
			}
		}
		repl, ok, err := fn(ref)
		if err != nil {
			return nil, err
		}
		if ok {
			if out == nil {
				out = make([]byte, 0, len(compact)+64)
			}
			out = append(out, compact[done:start]...)
			out = append(out, strconv.Quote(repl)...)
			done = end
		}
		i = end
	}
	if out == nil {
		return compact, nil
	}
	return append(out, compact[done:]...), nil
}

// checkReferences refuses relative references whose type is not a FHIR R4
// resource type (google/fhir's validator only checks the allowed targets of
// typed references, so "Nonsense/1" in an Any reference passes it). Only a
// resource with a bad reference pays for a walk that finds its element path.
func checkReferences(typ string, compact []byte) *outcome.Error {
	var bad []string
	_, _ = MapReferences(compact, func(ref string) (string, bool, error) {
		if typ, ok := relativeType(ref); ok && !IsType(typ) {
			bad = append(bad, ref)
		}
		return "", false, nil
	})
	if len(bad) == 0 {
		return nil
	}
	var doc any
	_ = json.Unmarshal(compact, &doc)
	paths := map[string][]string{}
	findReferences(doc, typ, paths)
	oe := &outcome.Error{Category: outcome.Unprocessable}
	for _, ref := range bad {
		is := outcome.Issue{Severity: outcome.ErrorLevel, Code: outcome.Value,
			Diagnostics: fmt.Sprintf("reference %q names %q, which is not a FHIR R4 resource type", ref, relativeRef.FindStringSubmatch(ref)[1])}
		if p := paths[ref]; len(p) > 0 {
			is.Expression = []string{p[0]}
			paths[ref] = p[1:]
		}
		oe.Issues = append(oe.Issues, is)
	}
	sortIssues(oe.Issues)
	return oe
}

// relativeType is the type of a relative literal reference (relativeRef
// matches it), read without the regular expression, which every
// reference of every resource written would otherwise run.
func relativeType(ref string) (string, bool) {
	i := 0
	for i < len(ref) && (ref[i] >= 'a' && ref[i] <= 'z' || ref[i] >= 'A' && ref[i] <= 'Z') {
		i++
	}
	if i == 0 || i == len(ref) || ref[i] != '/' {
		return "", false
	}
	rest := ref[i+1:]
	id, version, hasVersion := strings.Cut(rest, "/_history/")
	if !idChars(id) || (hasVersion && !idChars(version)) {
		return "", false
	}
	return ref[:i], true
}

// idChars reports whether s is 1 to 64 of [A-Za-z0-9\-.].
func idChars(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// findReferences records the element path of every "reference" string.
func findReferences(v any, path string, out map[string][]string) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if s, ok := v[k].(string); ok && k == "reference" {
				out[s] = append(out[s], path+".reference")
				continue
			}
			findReferences(v[k], path+"."+k, out)
		}
	case []any:
		for i, e := range v {
			findReferences(e, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}
