package hl7v2

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax is wrapped by every error of Parse.
var ErrSyntax = errors.New("hl7v2: malformed message")

// ParseError says where a message is malformed, in HL7's terms: the
// segment (its name and 1-based position in the message) and the field.
type ParseError struct {
	Segment string // the segment's name, "" when it has none
	Index   int    // 1-based position of the segment in the message
	Field   int    // 1-based field number, 0 for the segment as a whole
	Msg     string
}

// Error says where and what, e.g. "hl7v2: segment 3 (OBX), field 5: …".
func (e *ParseError) Error() string {
	switch {
	case e.Field > 0:
		return fmt.Sprintf("hl7v2: segment %d (%s), field %d: %s", e.Index, e.Segment, e.Field, e.Msg)
	case e.Index > 0:
		return fmt.Sprintf("hl7v2: segment %d (%s): %s", e.Index, e.Segment, e.Msg)
	}
	return "hl7v2: " + e.Msg
}

// Unwrap makes a ParseError an ErrSyntax.
func (e *ParseError) Unwrap() error { return ErrSyntax }

// MaxSegments bounds the segments of one message.
const MaxSegments = 10000

// Message is a parsed HL7 v2 message: its delimiters and segments, MSH
// first.
type Message struct {
	Delims   Delimiters
	Segments []Segment
}

// Segment is one segment: its name and its fields as they were written
// (escaped). Field n of the HL7 numbering is Fields[n-1]; for MSH, MSH-1
// is the field separator and MSH-2 the encoding characters, as HL7 counts
// them.
type Segment struct {
	Name   string
	Fields []string
	delims Delimiters
}

// NewSegment returns a segment of name with fields, which are written as
// given: escape values with Delimiters.Escape. For MSH, leave MSH-1 and
// MSH-2 out: fields start at MSH-3.
func (d Delimiters) NewSegment(name string, fields ...string) Segment {
	if name == "MSH" {
		fields = append([]string{string(d.Field), d.Encoding()}, fields...)
	}
	return Segment{Name: name, Fields: fields, delims: d}
}

// Parse reads an ER7-encoded message. Segments end in a carriage return
// (or line feed, or both); empty lines are skipped. The first segment must
// be MSH, and its MSH-1 and MSH-2 declare the delimiters of the rest.
func Parse(b []byte) (*Message, error) {
	b = bytes.TrimLeft(b, "\r\n")
	if len(b) < 8 || string(b[:3]) != "MSH" {
		return nil, &ParseError{Msg: "the message does not start with an MSH segment"}
	}
	d := Delimiters{Field: b[3]}
	enc := b[4:]
	if i := bytes.IndexByte(enc, d.Field); i >= 0 {
		enc = enc[:i]
	} else {
		return nil, &ParseError{Segment: "MSH", Index: 1, Field: 2, Msg: "MSH-2 (encoding characters) is not followed by a field separator"}
	}
	// v2.7 added a fifth, the truncation character, which this package
	// does not interpret.
	if len(enc) != 4 && len(enc) != 5 {
		return nil, &ParseError{Segment: "MSH", Index: 1, Field: 2, Msg: fmt.Sprintf("MSH-2 %q: want the 4 encoding characters, e.g. ^~\\&", enc)}
	}
	d.Component, d.Repetition, d.Esc, d.Subcomponent = enc[0], enc[1], enc[2], enc[3]
	seen := map[byte]bool{}
	for _, c := range append([]byte{d.Field}, enc...) {
		if seen[c] || c == '\r' || c == '\n' || c == ' ' || isAlnum(c) {
			return nil, &ParseError{Segment: "MSH", Index: 1, Field: 2, Msg: fmt.Sprintf("delimiters %q: want distinct characters that are not letters, digits, spaces or line ends", append([]byte{d.Field}, enc...))}
		}
		seen[c] = true
	}
	m := &Message{Delims: d}
	text := string(b)
	for line := range strings.FieldsFuncSeq(text, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if len(m.Segments) == MaxSegments {
			return nil, &ParseError{Msg: fmt.Sprintf("more than %d segments", MaxSegments)}
		}
		idx := len(m.Segments) + 1
		name, rest, _ := strings.Cut(line, string(d.Field))
		if !validName(name) {
			return nil, &ParseError{Index: idx, Msg: fmt.Sprintf("segment name %.10q: want three upper-case letters or digits, starting with a letter", name)}
		}
		seg := Segment{Name: name, delims: d}
		if name == "MSH" {
			if idx != 1 {
				return nil, &ParseError{Segment: name, Index: idx, Msg: "a second MSH segment: send one message per frame"}
			}
			if len(line) < 4 || line[3] != d.Field {
				return nil, &ParseError{Segment: name, Index: idx, Msg: "MSH does not use the field separator its first segment declared"}
			}
			seg.Fields = append([]string{string(d.Field)}, strings.Split(rest, string(d.Field))...)
		} else if len(line) > 3 {
			seg.Fields = strings.Split(rest, string(d.Field))
		}
		m.Segments = append(m.Segments, seg)
	}
	return m, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func validName(s string) bool {
	if len(s) != 3 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Bytes is the message in ER7, each segment ended by a carriage return.
func (m *Message) Bytes() []byte {
	var b bytes.Buffer
	for _, s := range m.Segments {
		s.delims = m.Delims
		s.write(&b)
		b.WriteByte('\r')
	}
	return b.Bytes()
}

func (s *Segment) write(b *bytes.Buffer) {
	b.WriteString(s.Name)
	fields := s.Fields
	if s.Name == "MSH" && len(fields) > 0 {
		fields = fields[1:] // MSH-1 is the separator itself
	}
	for _, f := range fields {
		b.WriteByte(s.delims.Field)
		b.WriteString(f)
	}
}

// Segment returns the first segment named name, or nil.
func (m *Message) Segment(name string) *Segment {
	for i := range m.Segments {
		if m.Segments[i].Name == name {
			return &m.Segments[i]
		}
	}
	return nil
}

// Field returns field n (1-based, as HL7 numbers them) of the segment; an
// absent field is the empty Value.
func (s *Segment) Field(n int) Value {
	if s == nil || n < 1 || n > len(s.Fields) {
		return Value{d: s.delimsOrDefault()}
	}
	return Value{raw: s.Fields[n-1], d: s.delims, level: levelField}
}

func (s *Segment) delimsOrDefault() Delimiters {
	if s == nil || s.delims.Field == 0 {
		return DefaultDelimiters
	}
	return s.delims
}

// Get returns the unescaped text of field n, first repetition, component
// c (1-based): s.Get(3, 1) is PID-3.1.
func (s *Segment) Get(n, c int) string { return s.Field(n).Comp(c).String() }

// Set sets field n (1-based) to raw, written as given, adding empty fields
// before it when the segment has fewer.
func (s *Segment) Set(n int, raw string) {
	for len(s.Fields) < n {
		s.Fields = append(s.Fields, "")
	}
	s.Fields[n-1] = raw
}

// The levels of a Value, which decide the delimiter it splits on.
const (
	levelField = iota
	levelRep
	levelComp
	levelSub
)

// Value is part of a field as written: the field, one repetition, one
// component or one subcomponent. Its zero value is empty.
type Value struct {
	raw   string
	d     Delimiters
	level int
}

// Raw is the value as written, with its escape sequences.
func (v Value) Raw() string { return v.raw }

// String is the value's text, unescaped. For a field or a component with
// several parts it is the first part's, as HL7 reads a composite where a
// primitive is expected.
func (v Value) String() string {
	raw := v.raw
	if v.level <= levelRep {
		raw, _, _ = strings.Cut(raw, string(v.d.Repetition))
	}
	if v.level <= levelComp && v.d.Component != 0 {
		raw, _, _ = strings.Cut(raw, string(v.d.Component))
	}
	if v.level <= levelSub && v.d.Subcomponent != 0 {
		raw, _, _ = strings.Cut(raw, string(v.d.Subcomponent))
	}
	return v.d.Unescape(raw)
}

// Empty reports whether nothing was written.
func (v Value) Empty() bool { return v.raw == "" }

// Null reports whether the value is HL7's explicit null, "".
func (v Value) Null() bool { return v.raw == `""` }

// Reps are the repetitions of a field.
func (v Value) Reps() []Value {
	if v.level != levelField || v.raw == "" {
		if v.raw == "" {
			return nil
		}
		return []Value{v}
	}
	parts := strings.Split(v.raw, string(v.d.Repetition))
	out := make([]Value, len(parts))
	for i, p := range parts {
		out[i] = Value{raw: p, d: v.d, level: levelRep}
	}
	return out
}

// Comp is component c (1-based) of the value, of its first repetition
// when it is a field.
func (v Value) Comp(c int) Value {
	raw := v.raw
	if v.level == levelField {
		raw, _, _ = strings.Cut(raw, string(v.d.Repetition))
	}
	if v.level >= levelComp {
		// A component has no components; its first is itself.
		if c == 1 {
			return v
		}
		return Value{d: v.d, level: levelComp}
	}
	return Value{raw: nth(raw, v.d.Component, c), d: v.d, level: levelComp}
}

// Sub is subcomponent n (1-based) of a component.
func (v Value) Sub(n int) Value {
	if v.level < levelComp {
		v = v.Comp(1)
	}
	if v.level == levelSub {
		if n == 1 {
			return v
		}
		return Value{d: v.d, level: levelSub}
	}
	return Value{raw: nth(v.raw, v.d.Subcomponent, n), d: v.d, level: levelSub}
}

// nth is the n-th (1-based) part of s split on sep, "" when there are
// fewer.
func nth(s string, sep byte, n int) string {
	if n < 1 {
		return ""
	}
	for ; n > 1; n-- {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return ""
		}
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i]
	}
	return s
}
