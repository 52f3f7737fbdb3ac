package fhirjson

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkCompactAgrees fails unless Compact accepts body exactly when
// encoding/json.Compact does, with the same bytes, and returns body itself
// when it was compact already.
func checkCompactAgrees(t *testing.T, body []byte) {
	t.Helper()
	var want bytes.Buffer
	wantErr := json.Compact(&want, body)
	got, ok := Compact(body)
	if ok != (wantErr == nil) {
		t.Fatalf("Compact(%q) ok = %v; encoding/json: %v", body, ok, wantErr)
	}
	if ok != json.Valid(body) {
		t.Fatalf("Compact(%q) ok = %v; json.Valid disagrees", body, ok)
	}
	if !ok {
		return
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("Compact(%q) = %q; encoding/json: %q", body, got, want.Bytes())
	}
	if len(got) != len(body) {
		return // a new slice
	}
	if &got[0] != &body[0] {
		t.Fatalf("Compact(%q) copied a compact body", body)
	}
	if cap(got) != len(got) {
		t.Fatalf("Compact(%q) lends the caller's capacity %d beyond its length %d", body, cap(got), len(got))
	}
}

// compactCases cover every rule of the grammar, each kept and broken.
var compactCases = []string{
	``, ` `, `{}`, `[]`, ` { } `, "\t[\r\n]\n", `{"a":1}`, `{ "a" : 1 , "b" : [ 1 , 2 ] }`,
	`{"a":1,}`, `{"a" 1}`, `{"a":}`, `{,}`, `[1,]`, `[,1]`, `[1 2]`, `{"a":1 "b":2}`, `{1:2}`,
	`{"a":1}}`, `[[]`, `]`, `}`, `{"a":1`, `[1`, `"abc`, `"abc"`, `"a\"b\\c\/d\b\f\n\r\t"`,
	`"\u00e9\u00E9"`, `"\u00g0"`, `"\u00e"`, `"\x"`, `"\`, "\"a\x01b\"", "\"a\x1fb\"", "\"a\x7fb\"",
	"\"\xff\xfe\"", "\"\xe2\x80\xa8\"", `"<>&"`, `0`, `-0`, `-`, `01`, `-01`, `1.`, `1.5`, `.5`,
	`1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `1.5e3`, `-1.0E-0`, `1.e3`, `123abc`, `+1`, `0x1`,
	`true`, `false`, `null`, `tru`, `truex`, `nul`, `nulll`, `[true,false,null]`, `True`,
	`1 2`, `{} {}`, `"a" "b"`, "\ufeff{}", "{\"a\":\"b c\",\n \"d\" : \" e \"}",
	"  \"x\"  ", "[ \"a\\\" \" , \" \" ]", `{"a":[{"b":{"c":[]}}]}`, `{"":""}`,
}

func TestCompact_AcceptsAndOutputsAsEncodingJSON(t *testing.T) {
	for _, c := range compactCases {
		checkCompactAgrees(t, []byte(c))
	}
}

func TestCompact_NestingLimitOfEncodingJSON(t *testing.T) {
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close := map[string]string{"[": "]", `{"a":`: "}"}[open]
			body := strings.Repeat(open, depth) + "1" + strings.Repeat(close, depth)
			checkCompactAgrees(t, []byte(body))
		}
	}
}

func TestCompact_AlarmAndItsCompactForm(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "connectors", "vkp", "testdata", "alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkCompactAgrees(t, raw)
	c, _ := Compact(raw)
	checkCompactAgrees(t, c)
}

// FuzzCompact: Compact is encoding/json.Compact, faster.
func FuzzCompact(f *testing.F) {
	for _, c := range compactCases {
		f.Add([]byte(c))
	}
	if raw, err := os.ReadFile(filepath.Join("..", "..", "connectors", "vkp", "testdata", "alarm.json")); err == nil {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkCompactAgrees(t, body)
	})
}

func TestAppendKey_AsEncodingJSONMarshalsIt(t *testing.T) {
	for _, k := range []string{"", "entry", "a b", "a\"b", `a\b`, "<tag>", "a&b", "\x00", "\x1f", "\x7f",
		"ø", "\u2028", "\xff", "é\xc3"} {
		checkAppendKey(t, k)
	}
}

func checkAppendKey(t *testing.T, key string) {
	t.Helper()
	want, _ := json.Marshal(key)
	if got := appendKey([]byte("x"), key); string(got) != "x"+string(want)+":" {
		t.Fatalf("appendKey(%q) = %s, want x%s:", key, got, want)
	}
}

func FuzzAppendKey(f *testing.F) {
	f.Add("resource")
	f.Add("<&>")
	f.Fuzz(checkAppendKey)
}

func TestRepeats_PairwiseAndByMap(t *testing.T) {
	for _, n := range []int{0, 1, 2, pairwise, pairwise + 1, 3 * pairwise} {
		fields := make([]field, n)
		for i := range fields {
			fields[i].key = strings.Repeat("k", i)
		}
		if repeats(fields) {
			t.Errorf("%d distinct keys repeat", n)
		}
		if n < 2 {
			continue
		}
		fields[n-1].key = fields[0].key
		if !repeats(fields) {
			t.Errorf("%d keys, first and last alike, do not repeat", n)
		}
	}
}
