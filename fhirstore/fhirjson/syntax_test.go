package fhirjson

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"hpsandbox/fhirstore/outcome"
)

func TestParse_IgnoresALeadingByteOrderMark(t *testing.T) {
	body := `{"resourceType":"Patient","id":"p1","name":[{"family":"Ødegård"}]}`
	want, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(append([]byte("\xEF\xBB\xBF"), body...))
	if err != nil {
		t.Fatalf("body with a byte-order mark refused: %v", err)
	}
	if string(got.Body) != string(want.Body) {
		t.Errorf("body %s, want %s", got.Body, want.Body)
	}
	if _, err := Parse([]byte("\xEF\xBB\xBF\xEF\xBB\xBF" + body)); err == nil {
		t.Error("a second byte-order mark, which is no longer a mark but text, was accepted")
	}
}

func TestSplitBundle_IgnoresALeadingByteOrderMark(t *testing.T) {
	shell, resources, err := SplitBundle([]byte("\xEF\xBB\xBF" + `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(shell) != `{"resourceType":"Bundle","entry":[{}]}` || string(resources[0]) != `{"resourceType":"Patient"}` {
		t.Errorf("shell %s, resources %q", shell, resources)
	}
}

func TestParse_MalformedJSONNamesLineAndColumn(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"bad value on line 3", "{\n  \"resourceType\": \"Patient\",\n  \"active\": tru\n}", "invalid JSON at line 3, column 16: invalid character '\\n' in literal true (expecting 'e')"},
		{"trailing comma", "{\n  \"resourceType\": \"Patient\",\n}", "invalid JSON at line 3, column 1: invalid character '}' looking for beginning of object key string"},
		{"columns count characters, not bytes", `{"resourceType":"Patient","name":[{"family":"Ø"x}]}`, "invalid JSON at line 1, column 48: invalid character 'x' after object key:value pair"},
		{"a byte-order mark takes no column", "\xEF\xBB\xBF{x}", "invalid JSON at line 1, column 2: invalid character 'x' looking for beginning of object key string"},
		{"unexpected end points at the last character", "{\n\"resourceType\":", "invalid JSON at line 2, column 15: unexpected end of JSON input"},
		{"text after the object", `{"resourceType":"Patient"} x`, "invalid JSON at line 1, column 28: invalid character 'x' after top-level value"},
		{"windows line ends", "{\r\n\"a\":\r\n?}", "invalid JSON at line 3, column 1: invalid character '?' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			var oe *outcome.Error
			if !errors.As(err, &oe) || oe.Category != outcome.Incorrect || oe.Issues[0].Code != outcome.Structure {
				t.Fatalf("error %v, want a 400 structure outcome", err)
			}
			if got := oe.Issues[0].Diagnostics; got != tt.want {
				t.Errorf("diagnostics\n%q, want\n%q", got, tt.want)
			}
			if _, _, err := SplitBundle([]byte(tt.body)); !errors.As(err, &oe) || oe.Issues[0].Diagnostics != tt.want {
				t.Errorf("SplitBundle error %v, want %q", err, tt.want)
			}
			if oe := CheckJSON([]byte(tt.body)); oe == nil || oe.Issues[0].Diagnostics != tt.want {
				t.Errorf("CheckJSON = %v, want %q", oe, tt.want)
			}
		})
	}
	if oe := CheckJSON([]byte("\xEF\xBB\xBF[1]")); oe != nil {
		t.Errorf("CheckJSON refused valid JSON after a byte-order mark: %v", oe)
	}
}

// checkPositionIn checks that a diagnostic naming a line and column names
// a place within text (the column may be one past a line's last character).
func checkPositionIn(t *testing.T, text []byte, diagnostics string) {
	t.Helper()
	var line, col int
	if _, err := fmt.Sscanf(diagnostics, "invalid JSON at line %d, column %d:", &line, &col); err != nil {
		if strings.HasPrefix(diagnostics, "invalid JSON") {
			t.Fatalf("diagnostics %q name no position", diagnostics)
		}
		return
	}
	lines := bytes.Split(text, []byte{'\n'})
	if line < 1 || line > len(lines) {
		t.Fatalf("line %d of %d lines in %q", line, len(lines), text)
	}
	if n := utf8.RuneCount(lines[line-1]); col < 1 || col > n+1 {
		t.Fatalf("column %d of a line of %d characters in %q", col, n, text)
	}
}

// FuzzParse_ByteOrderMarkAndErrorPosition checks that a leading
// byte-order mark changes nothing Parse decides, and that every JSON error
// names a line and column within the input.
func FuzzParse_ByteOrderMarkAndErrorPosition(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","id":"a"}`, "{\n \"resourceType\": \"Patient\",\n}", `{"a":`, ``, "\n\n", `{"é":x}`,
		"\xEF\xBB\xBF{}", `{"resourceType":"Patient"}x`, "{\"a\":\"\x01\"}", "\xff", "{\r\n\"a\":\r\n?}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for bytes.HasPrefix(in, []byte("\xEF\xBB\xBF")) {
			in = in[3:] // a second mark would be text, and refused
		}
		r1, err1 := Parse(in)
		r2, err2 := Parse(append([]byte("\xEF\xBB\xBF"), in...))
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("with a byte-order mark: %v; without: %v", err2, err1)
		}
		if err1 == nil {
			if string(r1.Body) != string(r2.Body) {
				t.Fatalf("body %s with a byte-order mark, %s without", r2.Body, r1.Body)
			}
			return
		}
		if err1.Error() != err2.Error() {
			t.Fatalf("error %q with a byte-order mark, %q without", err2, err1)
		}
		var oe *outcome.Error
		if !errors.As(err1, &oe) || oe.Category.Server() {
			t.Fatalf("error %v is not a 4xx outcome", err1)
		}
		for _, is := range oe.Issues {
			checkPositionIn(t, in, is.Diagnostics)
		}
	})
}

func TestPosition_LineAndColumnOfTheByteReadLast(t *testing.T) {
	body := []byte("ab\nçd\n")
	for _, tt := range []struct {
		offset    int64
		line, col int
	}{{0, 1, 1}, {1, 1, 1}, {2, 1, 2}, {3, 1, 3}, {4, 2, 1}, {6, 2, 2}, {7, 2, 3}, {8, 3, 1}, {99, 3, 1}} {
		if l, c := Position(body, tt.offset); l != tt.line || c != tt.col {
			t.Errorf("Position(%d) = %d, %d; want %d, %d", tt.offset, l, c, tt.line, tt.col)
		}
	}
}
