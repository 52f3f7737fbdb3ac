package vkp

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// jsonCases are compacted JSON documents with what encoding/json treats
// specially: escapes, characters it escapes on output, invalid UTF-8,
// repeated members, numbers as written, empty containers.
var jsonCases = []string{
	`{}`, `[]`, `null`, `true`, `"x"`, `0`, `-1.50e+3`,
	`{"a":1,"b":[1,2.50,-0.0,1E5],"c":{"d":null,"e":true,"f":false}}`,
	`{"a":"x","a":"y"}`,
	`{"s":"plain","t":"Ærlig bjørn på ø","u":"\u00e6\n\t\"\\\/"}`,
	`{"html":"<b>&amp;</b>","ls":"a` + "\u2028" + `b` + "\u2029" + `c"}`,
	`{"bad":"` + "\xff\xfe" + `","k` + "\xc3" + `":"v"}`,
	`{"e":{},"f":[],"g":[{},[],""],"":""}`,
	`{"esc\"aped":"\u0000\u001f"}`,
}

func TestDecode_SameAsEncodingJSON(t *testing.T) {
	for _, c := range append(jsonCases, alarmResources(t)...) {
		if got, want := decode([]byte(c)), decodeStd([]byte(c)); !reflect.DeepEqual(got, want) {
			t.Errorf("decode(%q) = %#v, want %#v", c, got, want)
		}
	}
}

func TestMarshalValue_SameAsEncodingJSON(t *testing.T) {
	for _, c := range append(jsonCases, alarmResources(t)...) {
		v := decodeStd([]byte(c))
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalValue(v)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("marshalValue(%q) = %s, %v; want %s", c, got, err, want)
		}
	}
	// Other types go to encoding/json.
	v := map[string]any{"n": 1.5, "m": map[string]string{"<": ">"}, "nilmap": map[string]any(nil), "nillist": []any(nil)}
	want, _ := json.Marshal(v)
	if got, err := marshalValue(v); err != nil || !bytes.Equal(got, want) {
		t.Errorf("marshalValue = %s, %v; want %s", got, err, want)
	}
	if _, err := marshalValue(map[string]any{"bad": json.Number("1x")}); err == nil {
		t.Error("an invalid json.Number was encoded")
	}
}

func alarmResources(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, name := range []string{"alarm.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			t.Fatal(err)
		}
		out = append(out, c.String())
	}
	return out
}

// FuzzDecode: for any valid JSON, decode and marshalValue agree with
// encoding/json.
func FuzzDecode(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c bytes.Buffer
		if json.Compact(&c, b) != nil {
			return
		}
		want := decodeStd(c.Bytes())
		got := decode(c.Bytes())
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decode(%q) = %#v, want %#v", c.Bytes(), got, want)
		}
		wb, werr := json.Marshal(want)
		gb, gerr := marshalValue(want)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(gb, wb) {
			t.Fatalf("marshalValue = %s, %v; want %s, %v", gb, gerr, wb, werr)
		}
	})
}

// BenchmarkDecode compares decode with encoding/json's decoder on the
// alarm's compacted resources, and marshalValue with json.Marshal on the
// alarm's transaction.
//
//	go test -run '^$' -bench 'Decode|Marshal' -benchmem ./connectors/vkp
func BenchmarkDecode(b *testing.B) {
	_, resources, err := splitAlarm(b)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		fn   func([]byte) any
	}{{"direct", decode}, {"encoding-json", decodeStd}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range resources {
					bc.fn(r)
				}
			}
		})
	}
}

func BenchmarkMarshalTransaction(b *testing.B) {
	body, _, err := splitAlarm(b)
	if err != nil {
		b.Fatal(err)
	}
	s, err := Parse(body, nil, Alarm)
	if err != nil {
		b.Fatal(err)
	}
	tx, err := s.Transaction("vkp")
	if err != nil {
		b.Fatal(err)
	}
	v := decodeStd(tx)
	for _, bc := range []struct {
		name string
		fn   func(any) ([]byte, error)
	}{{"direct", marshalValue}, {"encoding-json", json.Marshal}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.fn(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func splitAlarm(b *testing.B) ([]byte, [][]byte, error) {
	body, err := os.ReadFile(filepath.Join("testdata", "alarm.json"))
	if err != nil {
		return nil, nil, err
	}
	bb := ReadBundle(body)
	return body, bb.resources, bb.splitErr
}
