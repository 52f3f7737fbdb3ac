package vkp

import (
	"bytes"
	"encoding/json"
	"strings"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore/outcome"
)

// retrySafe is the retry-safe check of a submission the hub accepted,
// which runs on every one: Parse proved it a Bundle of known elements, so
// only each resource's type and identifiers are read, not the whole
// resources as parseBundle does.
//
// The body is scanned once (scanHeads), which reads the common shape of a
// submission at a fraction of encoding/json's cost; a body whose shape the
// scan does not vouch for (invalid or cut-short JSON, names that differ
// only in case, repeated names, values of another type, escapes where
// names and types are read) is read by encoding/json as before
// (retrySafeStd), so that every body gets the verdict it always got.
func retrySafe(body []byte) connectors.Result {
	heads, ok := scanHeads(body)
	if !ok {
		return retrySafeStd(body)
	}
	return retryVerdict(heads)
}

// head is one entry's resource type and its identifier element as written
// (nil when it has none).
type head struct {
	typ        string
	identifier []byte
}

func retryVerdict(heads []head) connectors.Result {
	if len(heads) == 0 {
		return na
	}
	var issues []outcome.Issue
	for i, h := range heads {
		var ids any
		if len(h.identifier) > 0 {
			ids = decode(h.identifier)
		}
		if ownIdentifier(map[string]any{"identifier": ids}) == "" {
			issues = append(issues, retryIssue(h.typ, i))
		}
	}
	return verdict(issues, true)
}

// retrySafeStd reads the entries' heads with encoding/json.
func retrySafeStd(body []byte) connectors.Result {
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType string          `json:"resourceType"`
				Identifier   json.RawMessage `json:"identifier"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &b) != nil {
		return na
	}
	heads := make([]head, len(b.Entry))
	for i, e := range b.Entry {
		heads[i] = head{typ: e.Resource.ResourceType, identifier: e.Resource.Identifier}
	}
	return retryVerdict(heads)
}

// scanHeads reads each entry's resource type and identifier from body,
// checking that the whole body is one JSON value as encoding/json does.
// ok is false when the body is not plainly a JSON object whose "entry" is
// an array of objects, each with a "resource" object with a plain string
// "resourceType": the caller then asks encoding/json, whose answer for
// such bodies (an error, or names matched regardless of case, or repeated
// members merged) the scan does not repeat.
func scanHeads(body []byte) (heads []head, ok bool) {
	s := scanner{b: body}
	s.space()
	ok = s.object(func(key []byte) bool {
		if string(key) != "entry" {
			return s.value(1)
		}
		if heads != nil {
			return false // a repeated entry
		}
		heads = make([]head, 0, 4)
		return s.array(func() bool {
			var h head
			seen := false
			ok := s.object(func(key []byte) bool {
				if string(key) != "resource" {
					return s.value(3)
				}
				if seen {
					return false
				}
				seen = true
				return s.resource(&h)
			}, 2, "resource")
			heads = append(heads, h)
			return ok && seen
		})
	}, 0, "entry")
	if !ok || heads == nil {
		return nil, false
	}
	s.space()
	return heads, s.i == len(s.b)
}

// resource reads the resource object's type and identifier into h.
func (s *scanner) resource(h *head) bool {
	typed := false
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "resourceType":
			if typed || !s.peek('"') {
				return false
			}
			typed = true
			start := s.i
			if !s.str() {
				return false
			}
			v := s.b[start+1 : s.i-1]
			if !plainASCII(v) {
				return false
			}
			h.typ = string(v)
			return true
		case "identifier":
			if h.identifier != nil {
				return false
			}
			start := s.i
			if !s.value(4) {
				return false
			}
			h.identifier = s.b[start:s.i]
			return true
		}
		return s.value(4)
	}, 3, "resourceType", "identifier") && typed
}

// scanner checks JSON syntax as encoding/json does, reading only what
// scanHeads needs; it reports false for what it does not vouch for.
type scanner struct {
	b []byte
	i int
}

// maxScanDepth leaves deeper documents to encoding/json, which has its own
// limit.
const maxScanDepth = 1000

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek(c byte) bool { return s.i < len(s.b) && s.b[s.i] == c }

// object scans an object, calling member with each member's name with the
// scanner at its value, which member must scan. A name that matches one of
// names regardless of case but is not it, or one with escapes or other
// than ASCII, is not vouched for: encoding/json would match it.
func (s *scanner) object(member func(key []byte) bool, depth int, names ...string) bool {
	if depth > maxScanDepth || !s.peek('{') {
		return false
	}
	s.i++
	s.space()
	if s.peek('}') {
		s.i++
		return true
	}
	for {
		if !s.peek('"') {
			return false
		}
		start := s.i
		if !s.str() {
			return false
		}
		key := s.b[start+1 : s.i-1]
		if len(names) > 0 {
			if !plainASCII(key) {
				return false
			}
			for _, n := range names {
				if len(key) == len(n) && string(key) != n && strings.EqualFold(string(key), n) {
					return false
				}
			}
		}
		s.space()
		if !s.peek(':') {
			return false
		}
		s.i++
		s.space()
		if !member(key) {
			return false
		}
		s.space()
		if s.peek(',') {
			s.i++
			s.space()
			continue
		}
		if s.peek('}') {
			s.i++
			return true
		}
		return false
	}
}

// array scans an array, calling elem with the scanner at each element,
// which elem must scan.
func (s *scanner) array(elem func() bool) bool {
	if !s.peek('[') {
		return false
	}
	s.i++
	s.space()
	if s.peek(']') {
		s.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		s.space()
		if s.peek(',') {
			s.i++
			s.space()
			continue
		}
		if s.peek(']') {
			s.i++
			return true
		}
		return false
	}
}

// value scans any JSON value.
func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) || depth > maxScanDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(func([]byte) bool { return s.value(depth + 1) }, depth)
	case c == '[':
		return s.array(func() bool { return s.value(depth + 1) })
	case c == '"':
		return s.str()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return false
}

func (s *scanner) literal(word string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}

// str scans a string from its opening quote past its closing one.
func (s *scanner) str() bool {
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHex(h) {
						return false
					}
				}
				s.i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			s.i++
		}
	}
	return false
}

// number scans a number as JSON writes one: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
func (s *scanner) number() bool {
	if s.peek('-') {
		s.i++
	}
	switch {
	case s.peek('0'):
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek('.') {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.peek('e') || s.peek('E') {
		s.i++
		if s.peek('+') || s.peek('-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// plainASCII reports whether v is printable ASCII without escapes, which
// encoding/json reads as it is written.
func plainASCII(v []byte) bool {
	for _, c := range v {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}
