package fhirjson

// This file holds a JSON compactor that accepts exactly what
// encoding/json.Compact accepts. encoding/json runs its scanner's state
// machine through a function call per byte; resources are mostly long
// strings, which a loop over bytes crosses at a fraction of that cost, and
// a body that is compact already (as SplitBundle's resources are) is
// returned as it is rather than copied.

// strSafe marks the bytes that may stand in a JSON string as they are:
// all but control characters, the quote and the backslash. As in
// encoding/json, bytes of invalid UTF-8 are accepted.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Compact returns body without the whitespace between JSON tokens, and
// whether body is valid JSON: one value, spaces around it allowed, as
// encoding/json.Compact accepts it (invalid UTF-8 in strings included,
// nesting deeper than maxDepth refused). When body holds no such whitespace,
// body itself is returned, with its capacity clipped so that appending to
// it never writes into the caller's array; otherwise a new slice.
func Compact(body []byte) ([]byte, bool) {
	s := scanner{b: body}
	s.space()
	if !s.value(0) {
		return nil, false
	}
	s.space()
	if s.i != len(body) {
		return nil, false
	}
	if !s.spaced {
		return body[:len(body):len(body)], true
	}
	return stripSpace(body), true
}

// scanner validates JSON by recursive descent. i is the next byte to
// read; spaced records whether whitespace between tokens was met.
type scanner struct {
	b      []byte
	i      int
	spaced bool
}

// space skips whitespace.
func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.spaced = true
			s.i++
		default:
			return
		}
	}
}

// value reads one value starting at s.i; depth is the number of objects
// and arrays it lies in.
func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

func (s *scanner) object(depth int) bool {
	if depth > maxDepth {
		return false
	}
	s.i++ // {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' || !s.str() {
			return false
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.space()
		if !s.value(depth) {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *scanner) array(depth int) bool {
	if depth > maxDepth {
		return false
	}
	s.i++ // [
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth) {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// str reads a string starting at its opening quote.
func (s *scanner) str() bool {
	b := s.b
	for i := s.i + 1; i < len(b); {
		c := b[i]
		if strSafe[c] {
			i++
			continue
		}
		switch c {
		case '"':
			s.i = i + 1
			return true
		case '\\':
			if i+1 >= len(b) {
				return false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return false
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return false
					}
				}
				i += 6
			default:
				return false
			}
		default:
			return false // a control character
		}
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() bool {
	b, i := s.b, s.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	s.i = i
	return true
}

// digits returns the index past the run of digits starting at b[i].
func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// stripSpace returns b, valid JSON, without whitespace outside strings.
func stripSpace(b []byte) []byte {
	out := make([]byte, 0, len(b))
	start := 0 // of the run of bytes not yet copied
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			out = append(out, b[start:i]...)
			for i+1 < len(b) && isSpace(b[i+1]) {
				i++ // an indentation is one run
			}
			start = i + 1
		case '"':
			i = scanString(b, i) - 1 // valid, so the string ends
		}
	}
	return append(out, b[start:]...)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
