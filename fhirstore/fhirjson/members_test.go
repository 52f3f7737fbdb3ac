package fhirjson

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// checkMembers fails unless EachMember and EachElement see in compacted
// JSON what splitObject and splitArray see. A name is as written, so
// it is the key decoded only without escapes and in valid UTF-8.
func checkMembers(t *testing.T, c []byte) {
	t.Helper()
	var names, vals [][]byte
	ok := EachMember(c, func(name, val []byte) bool {
		names, vals = append(names, name), append(vals, val)
		return true
	})
	fields, err := splitObject(c)
	if ok != (err == nil) || len(fields) != len(vals) {
		t.Fatalf("EachMember(%s): %v, %d members; splitObject: %v, %d", c, ok, len(vals), err, len(fields))
	}
	for i, f := range fields {
		if !bytes.Equal(f.val, vals[i]) || (bytes.IndexByte(names[i], '\\') < 0 && utf8.Valid(names[i]) && string(names[i]) != f.key) {
			t.Fatalf("EachMember(%s): member %d %s:%s; splitObject %s:%s", c, i, names[i], vals[i], f.key, f.val)
		}
	}
	var elems [][]byte
	ok = EachElement(c, func(val []byte) bool { elems = append(elems, val); return true })
	want, err := splitArray(c)
	if ok != (err == nil) || len(want) != len(elems) {
		t.Fatalf("EachElement(%s): %v, %d elements; splitArray: %v, %d", c, ok, len(elems), err, len(want))
	}
	for i := range want {
		if !bytes.Equal(want[i], elems[i]) {
			t.Fatalf("EachElement(%s): element %d %s; splitArray %s", c, i, elems[i], want[i])
		}
	}
}

var memberCases = []string{`{}`, `[]`, `{"a":1}`, `[1]`, `{"a":{"b":[1,"}"]},"c\"d":"e"}`, `[{"a":1},[2],"3",null]`,
	`"x"`, `null`, `{"a\u0062":true}`}

func TestEachMember_SeesWhatSplitObjectSees(t *testing.T) {
	for _, c := range memberCases {
		checkMembers(t, []byte(c))
	}
	stop := 0
	if EachMember([]byte(`{"a":1,"b":2}`), func(_, _ []byte) bool { stop++; return false }) || stop != 1 {
		t.Errorf("EachMember went on after fn returned false")
	}
	stop = 0
	if EachElement([]byte(`[1,2]`), func(_ []byte) bool { stop++; return false }) || stop != 1 {
		t.Errorf("EachElement went on after fn returned false")
	}
}

func FuzzEachMember(f *testing.F) {
	for _, c := range memberCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if c, ok := Compact(body); ok {
			checkMembers(t, c)
		}
	})
}

func TestNameOf_AsEncodingJSONMatchesFields(t *testing.T) {
	names := []string{"resource", "entry"}
	for _, tt := range []struct {
		name string
		i    int
		ok   bool
	}{
		{"resource", 0, true},
		{"entry", 1, true},
		{"fullUrl", -1, true},
		{"Entry", -1, false},
		{"re\u017fource", -1, false}, // long s folds to s, as encoding/json matches it
		{`entr\u0079`, -1, false},    // an escape: a decoder would read "entry"
		{"ñ", -1, true},
	} {
		if i, ok := NameOf([]byte(tt.name), names); i != tt.i || ok != tt.ok {
			t.Errorf("NameOf(%q) = %d, %v; want %d, %v", tt.name, i, ok, tt.i, tt.ok)
		}
	}
	// encoding/json agrees about the folded names.
	var v struct{ Resource int }
	if err := json.Unmarshal([]byte("{\"re\u017fource\":1}"), &v); err != nil || v.Resource != 1 {
		t.Errorf("encoding/json read %+v, %v", v, err)
	}
}
