package vkp

import (
	"bytes"

	"hpsandbox/fhirstore/fhirjson"
)

// scanner checks JSON syntax as encoding/json does, reading only what its
// callers (scanHeads, splicePatientFirst) need; it reports false for what
// it does not vouch for.
type scanner struct {
	b []byte
	i int
	// spaced records white space between tokens: a document without any
	// is compact.
	spaced bool
}

// maxScanDepth leaves deeper documents to encoding/json, which has its own
// limit.
const maxScanDepth = 1000

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
			s.spaced = true
		default:
			return
		}
	}
}

// plainString scans a string and returns it when it is a plain one
// (fhirjson.PlainString), which encoding/json reads and writes as it is.
func (s *scanner) plainString() (string, bool) {
	if !s.peek('"') {
		return "", false
	}
	start := s.i
	if !s.str() {
		return "", false
	}
	return fhirjson.PlainString(s.b[start:s.i])
}

func (s *scanner) peek(c byte) bool { return s.i < len(s.b) && s.b[s.i] == c }

// object scans an object, calling member with each member's name with the
// scanner at its value, which member must scan. A name that matches one of
// names in another case, or one with escapes, is not vouched for:
// encoding/json would match it (fhirjson.NameOf).
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
			if _, ok := fhirjson.NameOf(key, names); !ok {
				return false
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
