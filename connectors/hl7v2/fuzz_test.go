package hl7v2

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse: Parse never panics, and a message it accepts is written back
// as it was read and parses again to the same segments.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.hl7")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("MSH|^~\\&|\rOBX|1|ST|||\\E\\\\X\\"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		out := m.Bytes()
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("the written message does not parse: %v\n%q", err, out)
		}
		if !bytes.Equal(m2.Bytes(), out) || len(m2.Segments) != len(m.Segments) {
			t.Fatalf("a second round differs:\n%q\n%q", out, m2.Bytes())
		}
		for i := range m.Segments {
			s := &m.Segments[i]
			for n := 1; n <= len(s.Fields)+1; n++ {
				for _, r := range s.Field(n).Reps() {
					_ = r.Comp(2).Sub(2).String()
				}
			}
		}
		// Its ACK is a message too.
		ack := Ack(m, AE, "A1", time.Unix(0, 0).UTC(), []AckError{{Segment: "OBX", Sequence: 1, Field: 5, Code: CodeDataType, Text: string(b)}})
		if _, err := Parse(ack.Bytes()); err != nil {
			t.Fatalf("the ACK does not parse: %v\n%q", err, ack.Bytes())
		}
	})
}

// FuzzEscape: Unescape undoes Escape for any text, and Escape leaves no
// delimiter or line end.
func FuzzEscape(f *testing.F) {
	f.Add(`a|b^c~d\e&f` + "\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		d := DefaultDelimiters
		esc := d.Escape(s)
		if bytes.ContainsAny([]byte(esc), "|^~&\r\n") {
			t.Fatalf("Escape(%q) = %q", s, esc)
		}
		if got := d.Unescape(esc); got != s {
			t.Fatalf("Unescape(Escape(%q)) = %q", s, got)
		}
		_ = d.Unescape(s)
	})
}
