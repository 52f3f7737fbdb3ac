package fhirjson

import (
	"bytes"
	"encoding/json"
	"testing"
)

// obj is the map the connectors build their trees of.
type obj = map[string]any

// AppendJSON writes what json.Marshal writes, for every kind of value
// the mapping builds and for the strings a sender can put into them.
func TestAppendJSON_SameBytesAsEncodingJSON(t *testing.T) {
	for name, v := range map[string]any{
		"empty obj":      obj{},
		"nil obj":        obj(nil),
		"nested":         obj{"b": []obj{{"z": "1", "a": json.Number("2.50")}}, "a": true, "c": []string{"x", "y"}, "d": []any{"s", obj{"k": false}}},
		"nil slices":     obj{"a": []obj(nil), "b": []string(nil), "c": []any(nil), "d": nil},
		"escapes":        obj{"text": "a\"b\\c\nd\re\tf\bg\fh\x01i\x1fj<k>l&m\u2028n\u2029o\x7fp"},
		"invalid utf-8":  obj{"text": "a\xffb\xc3", "\xfekey": "v"},
		"multibyte":      obj{"text": "blodtrykk æøå 𝄞 ✓"},
		"keys sorted":    obj{"b": "1", "B": "2", "a": "3", "_": "4", "é": "5", "": "6"},
		"numbers":        []any{json.Number("0"), json.Number("-1.5e+10"), json.Number("12"), json.Number("")},
		"other kinds":    []any{1, 2.5, map[string]string{"x": "y"}},
		"many keys":      obj{"k01": 1, "k02": 2, "k03": 3, "k04": 4, "k05": 5, "k06": 6, "k07": 7, "k08": 8, "k09": 9, "k10": 10, "k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15, "k16": 16, "k17": 17, "k18": 18},
		"bool false":     false,
		"string at root": "x<y",
	} {
		t.Run(name, func(t *testing.T) {
			want, wantErr := json.Marshal(v)
			got, err := AppendJSON(nil, v)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("error %v, encoding/json's %v", err, wantErr)
			}
			if err == nil && !bytes.Equal(got, want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestAppendJSON_InvalidNumber_RefusedAsEncodingJSONRefusesIt(t *testing.T) {
	for _, n := range []string{"01", "1.", ".5", "1e", "-", "+1", "1x", "NaN", "0x10"} {
		if _, err := AppendJSON(nil, obj{"value": json.Number(n)}); err == nil {
			t.Errorf("json.Number(%q) encoded without an error", n)
		}
		if _, err := json.Marshal(obj{"value": json.Number(n)}); err == nil {
			t.Errorf("encoding/json takes json.Number(%q): the test's premise is wrong", n)
		}
	}
}

// FuzzAppendJSON: for any strings and numbers a message can carry,
// AppendJSON writes exactly what encoding/json writes.
func FuzzAppendJSON(f *testing.F) {
	f.Add("a", "b", "1.5")
	f.Add("<&>", "\u2028\xff", "-0")
	f.Add("\x00\x1f", "é", "1e400")
	f.Fuzz(func(t *testing.T, k, s, n string) {
		v := obj{k: s, "n": json.Number(n), "list": []obj{{s: []string{k, s}}}, "any": []any{s, true, nil}}
		want, wantErr := json.Marshal(v)
		got, err := AppendJSON(nil, v)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, encoding/json's %v", err, wantErr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}
