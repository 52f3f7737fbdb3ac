package fhirjson

import "bytes"

// EachMember calls fn with the name, as written between its quotes
// (escapes not decoded), and the value of each member of b, a compacted
// JSON object, in order, until fn returns false. It reports whether b is
// an object and fn returned true for every member. It reads bytes and
// decodes nothing, for callers that read a few members of input
// compacted already.
func EachMember(b []byte, fn func(name, val []byte) bool) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	if len(b) == 2 {
		return true
	}
	for i := 1; i < len(b); {
		if b[i] != '"' {
			return false
		}
		end := scanString(b, i)
		if end < 0 || end >= len(b) || b[end] != ':' {
			return false
		}
		vend := scanValue(b, end+1)
		if vend < 0 || vend >= len(b) || !fn(b[i+1:end-1], b[end+1:vend]) {
			return false
		}
		switch {
		case b[vend] == ',':
			i = vend + 1
		case vend == len(b)-1:
			return true
		default:
			return false
		}
	}
	return false
}

// EachElement calls fn with each element of b, a compacted JSON array, in
// order, until fn returns false. It reports whether b is an array and fn
// returned true for every element.
func EachElement(b []byte, fn func(val []byte) bool) bool {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return false
	}
	if len(b) == 2 {
		return true
	}
	for i := 1; i < len(b); {
		end := scanValue(b, i)
		if end < 0 || end >= len(b) || !fn(b[i:end]) {
			return false
		}
		switch {
		case b[end] == ',':
			i = end + 1
		case end == len(b)-1:
			return true
		default:
			return false
		}
	}
	return false
}

// PlainString is the JSON string v, when it is printable ASCII without
// escapes, which reads as the bytes between its quotes; false for any
// other value.
func PlainString(v []byte) (string, bool) { return plainString(v) }

// NameOf finds name, a member's name as written (as EachMember gives it),
// among names: the index of the one it is, -1 for none. ok is false when
// encoding/json, decoding into a struct with those fields, might match it
// otherwise: it holds an escape, or it is one of names in another case
// (by Unicode's folding, as encoding/json matches).
func NameOf(name []byte, names []string) (i int, ok bool) {
	if bytes.IndexByte(name, '\\') >= 0 {
		return -1, false
	}
	for i, n := range names {
		if string(name) == n {
			return i, true
		}
	}
	for _, n := range names {
		if bytes.EqualFold(name, []byte(n)) {
			return -1, false
		}
	}
	return -1, true
}
