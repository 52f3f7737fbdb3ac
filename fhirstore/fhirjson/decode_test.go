package fhirjson

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stdDecode is what DecodeObject must equal: encoding/json's Decoder with
// UseNumber, reading one value.
func stdDecode(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	err := dec.Decode(&m)
	return m, err
}

var decodeSamples = []string{
	`{"resourceType":"Observation","valueQuantity":{"value":72.50,"unit":"/min"},"component":[],"x":[1,-0.5e+3,true,false,null,{}]}`,
	` {"a" : "\u00f8\n\"q\"", "a":"last", "b":[ [ ] , { } ]}  trailing`,
	`{"s":"` + "\xff\xfe" + `","k\u0041":1E2}`,
	`null`, `[1]`, `"x"`, `7`, ``, `   `, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,}`, `{,}`, `{"a":01}`, `{"a":-}`,
	`{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":tru}`, `{"a":nul}`, `{"a":"` + "\x01" + `"}`, `{"a":"\x"}`, `{"a":[1,]}`,
	`{"a":[1 2]}`, `{"a":{"b":}}`, `{"a":"unterminated`, `{"a":-0,"b":0.0e-0}`, `{1:2}`,
}

func TestDecodeObject_AgreesWithEncodingJSON(t *testing.T) {
	for _, s := range decodeSamples {
		got, err := DecodeObject([]byte(s))
		want, werr := stdDecode([]byte(s))
		if (err != nil) != (werr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, %v; want %#v, %v", s, got, err, want, werr)
		}
	}
}

func TestDecodeObject_RefusesNestingBeyondEncodingJSONsLimit(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`
	if _, err := DecodeObject([]byte(deep)); err == nil {
		t.Error("nesting of 10,002 was accepted")
	}
	ok := `{"a":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}`
	if _, err := DecodeObject([]byte(ok)); err != nil {
		t.Errorf("nesting of 9,001: %v", err)
	}
}

func FuzzDecodeObject(f *testing.F) {
	for _, s := range decodeSamples {
		f.Add([]byte(s))
	}
	for _, name := range []string{"observation-bp.json", "encounter.json", "condition.json"} {
		if body, err := os.ReadFile(filepath.Join("..", "searchparam", "testdata", "resources", name)); err == nil {
			f.Add(body)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeObject(data)
		want, werr := stdDecode(data)
		if (err != nil) != (werr != nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v, %v; want %#v, %v", data, got, err, want, werr)
		}
	})
}

func TestDecodeValue_AgreesWithEncodingJSONOnWholeValues(t *testing.T) {
	for _, s := range append(decodeSamples, `[1,{"a":"b"}]`, ` "x" `, `{"a":1} {"b":2}`, `1 2`) {
		got, err := DecodeValue([]byte(s))
		var want any
		dec := json.NewDecoder(bytes.NewReader([]byte(s)))
		dec.UseNumber()
		werr := dec.Decode(&want)
		if werr == nil && dec.More() || werr == nil && strings.TrimSpace(s[dec.InputOffset():]) != "" {
			werr = errSyntax // Unmarshal refuses what follows the value
		}
		if (err != nil) != (werr != nil) || werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, %v; want %#v, %v", s, got, err, want, werr)
		}
	}
}
