package hl7v2

import (
	"strings"
)

// Delimiters are the separators and the escape character of a message,
// declared in MSH-1 and MSH-2.
type Delimiters struct {
	Field, Component, Repetition, Esc, Subcomponent byte
}

// DefaultDelimiters are the delimiters HL7 recommends, |^~\&.
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Esc: '\\', Subcomponent: '&'}

// Encoding is MSH-2: component, repetition, escape and subcomponent
// characters.
func (d Delimiters) Encoding() string {
	return string([]byte{d.Component, d.Repetition, d.Esc, d.Subcomponent})
}

// special reports whether c is one of d's delimiters.
func (d Delimiters) special(c byte) bool {
	return c == d.Field || c == d.Component || c == d.Repetition || c == d.Esc || c == d.Subcomponent
}

// Escape encodes s for a field: each delimiter becomes its escape sequence
// (\F\ \S\ \T\ \R\ \E\) and a carriage return or line feed becomes \X0D\
// or \X0A\, so that no value can end a segment.
func (d Delimiters) Escape(s string) string {
	n := 0
	for i := range len(s) {
		if d.special(s[i]) || s[i] == '\r' || s[i] == '\n' {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4*n)
	for i := range len(s) {
		c := s[i]
		var seq string
		switch c {
		case d.Field:
			seq = "F"
		case d.Component:
			seq = "S"
		case d.Subcomponent:
			seq = "T"
		case d.Repetition:
			seq = "R"
		case d.Esc:
			seq = "E"
		case '\r':
			seq = "X0D"
		case '\n':
			seq = "X0A"
		default:
			b.WriteByte(c)
			continue
		}
		b.WriteByte(d.Esc)
		b.WriteString(seq)
		b.WriteByte(d.Esc)
	}
	return b.String()
}

// Unescape decodes the escape sequences of s: the delimiters' (\F\ \S\ \T\
// \R\ \E\) and hexadecimal data (\Xhh…\). Formatting sequences (\H\, \N\,
// \.br\ …) and character-set sequences are kept as they are, for the
// reader to interpret; so is an escape character without its closing one.
func (d Delimiters) Unescape(s string) string {
	i := strings.IndexByte(s, d.Esc)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i+1:]
		end := strings.IndexByte(s, d.Esc)
		if end < 0 {
			// No closing escape: the rest is text.
			b.WriteByte(d.Esc)
			break
		}
		seq := s[:end]
		switch {
		case seq == "F":
			b.WriteByte(d.Field)
		case seq == "S":
			b.WriteByte(d.Component)
		case seq == "T":
			b.WriteByte(d.Subcomponent)
		case seq == "R":
			b.WriteByte(d.Repetition)
		case seq == "E":
			b.WriteByte(d.Esc)
		case len(seq) > 1 && seq[0] == 'X' && len(seq)%2 == 1 && hexOnly(seq[1:]):
			for j := 1; j < len(seq); j += 2 {
				b.WriteByte(unhex(seq[j])<<4 | unhex(seq[j+1]))
			}
		default:
			b.WriteByte(d.Esc)
			b.WriteString(seq)
			b.WriteByte(d.Esc)
		}
		s = s[end+1:]
		i = strings.IndexByte(s, d.Esc)
	}
	b.WriteString(s)
	return b.String()
}

func hexOnly(s string) bool {
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
