package fhirjson

import (
	"bytes"
	"encoding/json"
)

// SplitBundle compacts body, a Bundle as a client sent it, and takes the
// resources out of its entries: shell is the Bundle without them (to
// validate as a Bundle and to read its entries' requests from), and
// resources[i] is the compacted resource of entry i, nil for an entry
// without one. It scans bytes after one compaction, so the resources are
// neither decoded nor copied.
//
// As in encoding/json, the last of repeated members counts and the others
// are dropped. A body that is valid JSON but not shaped like a Bundle (not
// an object, entry not an array, an entry not an object) is returned as
// shell with those parts untouched, for the decoder or the validator to
// refuse. err is non-nil only for a body that is not JSON: an
// *outcome.Error naming the line and column. A leading UTF-8 byte-order
// mark is ignored.
func SplitBundle(body []byte) (shell []byte, resources [][]byte, err error) {
	body = TrimBOM(body)
	c, ok := Compact(body)
	if !ok {
		return nil, nil, syntaxError(body)
	}
	if len(c) == len(body) {
		// Compact already: the resources must not share the caller's
		// array, which it may reuse once the Bundle is read.
		c = bytes.Clone(c)
	}
	if c[0] != '{' {
		return c, nil, nil
	}
	fields, err := splitObject(c)
	if err != nil {
		return nil, nil, err
	}
	out := make([]byte, 0, len(c)/4)
	out = append(out, '{')
	for i, f := range lastOfEach(fields) {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendKey(out, f.key)
		if f.key != "entry" || f.val[0] != '[' {
			out = append(out, f.val...)
			continue
		}
		entries, err := splitArray(f.val)
		if err != nil {
			return nil, nil, err
		}
		resources = make([][]byte, len(entries))
		out = append(out, '[')
		for j, e := range entries {
			if j > 0 {
				out = append(out, ',')
			}
			if e[0] != '{' {
				out = append(out, e...)
				continue
			}
			members, err := splitObject(e)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, '{')
			n := 0
			for _, m := range lastOfEach(members) {
				if m.key == "resource" {
					resources[j] = m.val
					continue
				}
				if n > 0 {
					out = append(out, ',')
				}
				n++
				out = appendKey(out, m.key)
				out = append(out, m.val...)
			}
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	return append(out, '}'), resources, nil
}

// lastOfEach drops the members whose key repeats later. Objects of a
// Bundle have a handful of members, which repeats compares pairwise
// rather than through a map; an object with repeats, which only an odd or
// hostile sender writes, is thinned through a map of each key's last
// place, in time linear in its members however many repeat.
func lastOfEach(fields []field) []field {
	if !repeats(fields) {
		return fields
	}
	last := make(map[string]int, len(fields))
	for i, f := range fields {
		last[f.key] = i
	}
	out := make([]field, 0, len(last))
	for i, f := range fields {
		if last[f.key] == i {
			out = append(out, f)
		}
	}
	return out
}

// pairwise is the number of members up to which repeats compares keys
// pair by pair, which costs less than a map for a handful.
const pairwise = 16

// repeats reports whether a key occurs twice among fields.
func repeats(fields []field) bool {
	if len(fields) > pairwise {
		seen := make(map[string]bool, len(fields))
		for _, f := range fields {
			if seen[f.key] {
				return true
			}
			seen[f.key] = true
		}
		return false
	}
	for i := 1; i < len(fields); i++ {
		for _, g := range fields[:i] {
			if g.key == fields[i].key {
				return true
			}
		}
	}
	return false
}

// appendKey appends key as encoding/json marshals it, and a colon. A key
// of printable ASCII that encoding/json leaves as it is (every FHIR
// element's name) is appended without a marshaller.
func appendKey(out []byte, key string) []byte {
	plain := true
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	if plain {
		out = append(out, '"')
		out = append(out, key...)
		return append(out, '"', ':')
	}
	k, _ := json.Marshal(key) // a string always marshals
	out = append(out, k...)
	return append(out, ':')
}

// splitArray splits a compacted JSON array into its elements, in order.
func splitArray(b []byte) ([][]byte, error) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, errMalformed
	}
	if len(b) == 2 {
		return nil, nil
	}
	var out [][]byte
	for i := 1; i < len(b); {
		end := scanValue(b, i)
		if end < 0 || end >= len(b) {
			return nil, errMalformed
		}
		out = append(out, b[i:end])
		switch {
		case b[end] == ',':
			i = end + 1
		case b[end] == ']' && end == len(b)-1:
			return out, nil
		default:
			return nil, errMalformed
		}
	}
	return nil, errMalformed
}
