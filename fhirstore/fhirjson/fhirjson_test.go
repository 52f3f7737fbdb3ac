package fhirjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"hpsandbox/fhirstore/outcome"
)

func TestParse_RefusesWithPathNamingIssue(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		cat        outcome.Category
		code       outcome.Code
		expression string
	}{
		{"invalid JSON", `{"resourceType":"Patient",`, outcome.Incorrect, outcome.Structure, ""},
		{"array instead of object", `[{"resourceType":"Patient"}]`, outcome.Incorrect, outcome.Structure, ""},
		{"no resourceType", `{"id":"x"}`, outcome.Incorrect, outcome.Required, "resourceType"},
		{"resourceType not a string", `{"resourceType":7}`, outcome.Incorrect, outcome.Structure, "resourceType"},
		{"unknown resource type", `{"resourceType":"Nope"}`, outcome.Incorrect, outcome.NotSupported, "resourceType"},
		{"unknown top-level element", `{"resourceType":"Patient","foo":1}`, outcome.Incorrect, outcome.Structure, "Patient.foo"},
		{"unknown nested element", `{"resourceType":"Patient","name":[{"family":"X","foo":1}]}`, outcome.Incorrect, outcome.Structure, "Patient.name[0].foo"},
		{"wrong date format", `{"resourceType":"Patient","birthDate":"1980-13-01"}`, outcome.Incorrect, outcome.Value, "Patient.birthDate"},
		{"wrong boolean", `{"resourceType":"Patient","active":"yes"}`, outcome.Incorrect, outcome.Value, "Patient.active"},
		{"code not in required binding", `{"resourceType":"Observation","status":"bogus","code":{"text":"x"}}`, outcome.Incorrect, outcome.Invalid, "Observation.status"},
		{"missing required element", `{"resourceType":"Observation","code":{"text":"x"}}`, outcome.Unprocessable, outcome.Required, "Observation.status"},
		{"missing required nested element", `{"resourceType":"Patient","link":[{"type":"seealso"}]}`, outcome.Unprocessable, outcome.Required, "Patient.link[0].other"},
		{"malformed id", `{"resourceType":"Patient","id":"x y"}`, outcome.Unprocessable, outcome.Value, "Patient.id"},
		{"reference to a non-resource type", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"focus":[{"reference":"Patient/p1"},{"reference":"Nonsense/1"}]}`, outcome.Unprocessable, outcome.Value, "Observation.focus[1].reference"},
		{"reference to a non-resource type in an extension", `{"resourceType":"Patient","extension":[{"url":"http://x","valueReference":{"reference":"Foo/2/_history/1"}}]}`, outcome.Unprocessable, outcome.Value, "Patient.extension[0].valueReference.reference"},
		{"unknown element in contained resource", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","foo":1}]}`, outcome.Incorrect, outcome.Structure, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			var oe *outcome.Error
			if !errors.As(err, &oe) {
				t.Fatalf("Parse error = %v, want *outcome.Error", err)
			}
			if oe.Category != tt.cat {
				t.Errorf("category = %s, want %s (%v)", oe.Category, tt.cat, oe)
			}
			is := oe.Issues[0]
			if is.Code != tt.code {
				t.Errorf("code = %q, want %q (%v)", is.Code, tt.code, oe)
			}
			if tt.expression != "" && (len(is.Expression) == 0 || is.Expression[0] != tt.expression) {
				t.Errorf("expression = %v, want %q", is.Expression, tt.expression)
			}
		})
	}
}

func TestParse_AcceptsValidResourceCompacted(t *testing.T) {
	body := "{\n  \"resourceType\": \"Observation\",\n  \"id\": \"o1\",\n  \"status\": \"final\",\n  \"code\": {\"text\": \"pulse\"},\n  \"valueQuantity\": {\"value\": 72.0}\n}"
	r, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "Observation" || r.ID != "o1" {
		t.Errorf("got type %q id %q", r.Type, r.ID)
	}
	want := `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"pulse"},"valueQuantity":{"value":72.0}}`
	if string(r.Body) != want {
		t.Errorf("body = %s\nwant %s", r.Body, want)
	}
}

func TestParse_AcceptsEveryKindOfValidReference(t *testing.T) {
	for _, ref := range []string{"Patient/p1", "Patient/p1/_history/2", "#contained", "urn:uuid:2f6b2b9a-1d8a-4c52-9b2e-3b8f0c9e4d11",
		"urn:oid:2.16.578.1", "http://example.org/fhir/Patient/p1", "https://example.org/fhir/Nonsense/1", "Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|01818512345"} {
		body := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"focus":[{"reference":` + strconv.Quote(ref) + `}]}`
		if _, err := Parse([]byte(body)); err != nil {
			t.Errorf("reference %q refused: %v", ref, err)
		}
	}
}

func TestStamp_SetsIDAndMetaKeepingClientMeta(t *testing.T) {
	body := []byte(`{"status":"final","meta":{"versionId":"9","profile":["http://example.org/p"],"lastUpdated":"2000-01-01T00:00:00Z","tag":[{"code":"t"}]},"resourceType":"Observation","id":"old","code":{"text":"a\"}b"}}`)
	got, err := Stamp(body, "new", 3, time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Observation","id":"new","meta":{"versionId":"3","lastUpdated":"2026-01-02T02:04:05.006Z","profile":["http://example.org/p"],"tag":[{"code":"t"}]},"status":"final","code":{"text":"a\"}b"}}`
	if string(got) != want {
		t.Errorf("Stamp =\n%s\nwant\n%s", got, want)
	}
	if !json.Valid(got) {
		t.Error("stamped body is not valid JSON")
	}
}

func TestSplitObject_RefusesMalformed(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":"x}`, `{"a":[1}`, `{"a":1}x`, `{a:1}`} {
		if _, err := splitObject([]byte(in)); err == nil {
			t.Errorf("splitObject(%q) accepted malformed input", in)
		}
	}
	got, err := splitObject([]byte(`{"a":{"b":[1,"]"]},"c\"d":null,"e":-1.5e3}`))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range got {
		keys = append(keys, f.key+"="+string(f.val))
	}
	want := []string{`a={"b":[1,"]"]}`, `c"d=null`, `e=-1.5e3`}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("got %v want %v", keys, want)
	}
}

func TestTypes_ListsR4ResourceTypes(t *testing.T) {
	types := Types()
	if len(types) != 146 {
		t.Errorf("got %d resource types, want the 146 of FHIR R4", len(types))
	}
	for _, name := range []string{"Patient", "Observation", "Bundle", "OperationOutcome", "MedicationKnowledge"} {
		if !IsType(name) {
			t.Errorf("IsType(%q) = false", name)
		}
	}
	if IsType("patient") || IsType("Nope") {
		t.Error("IsType accepted a non-type")
	}
}

// FuzzParseAndStamp checks that no input makes Parse or Stamp panic, and
// that whatever Parse accepts stamps into valid JSON that parses again.
func FuzzParseAndStamp(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","id":"a","name":[{"family":"Nordmann"}]}`,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"meta":{"tag":[{"code":"a"}]}}`,
		`{"resourceType":"Patient","foo":1}`, `[]`, `{"resourceType":"Patient","id":"\u00e6"}`,
		`{"resourceType":"Parameters","parameter":[{"name":"a","part":[{"name":"b","resource":{"resourceType":"Patient","contained":[{"resourceType":"Organization"}]}}]}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"},"response":{"status":"200","outcome":{"resourceType":"OperationOutcome"}}},{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Parse(in)
		if err != nil {
			var oe *outcome.Error
			if !errors.As(err, &oe) || oe.Category.Server() {
				t.Fatalf("Parse(%q) error %v is not a 4xx outcome", in, err)
			}
			return
		}
		out, err := Stamp(r.Body, "x", 1, time.Unix(0, 0))
		if err != nil {
			t.Fatalf("Stamp of accepted body %q: %v", r.Body, err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("stamped body %s no longer parses: %v", out, err)
		}
	})
}

func TestRepeated_FromR4Definitions(t *testing.T) {
	tests := []struct {
		typ             string
		path            []string
		repeated, known bool
	}{
		{"Patient", []string{"identifier"}, true, true},
		{"Patient", []string{"birthDate"}, false, true},
		{"Patient", []string{"name", "given"}, true, true},
		{"Patient", []string{"name", "family"}, false, true},
		{"Patient", []string{"contact", "telecom"}, true, true},
		{"Observation", []string{"component", "code", "coding"}, true, true},
		{"Patient", []string{"nickname"}, false, false},
		{"Nope", []string{"id"}, false, false},
	}
	for _, tt := range tests {
		r, k := Repeated(tt.typ, tt.path...)
		if r != tt.repeated || k != tt.known {
			t.Errorf("Repeated(%s, %v) = %v, %v; want %v, %v", tt.typ, tt.path, r, k, tt.repeated, tt.known)
		}
	}
}

func TestValidID_FHIRPatternButNotOnlyDots(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"a", true}, {"Patient-1.2", true}, {".a", true}, {"a.", true}, {"a..b", true}, {"-", true},
		{"0123456789012345678901234567890123456789012345678901234567890123", true},
		{"", false}, {".", false}, {"..", false}, {"...", false},
		{"01234567890123456789012345678901234567890123456789012345678901234", false},
		{"a/b", false}, {"a%2Fb", false}, {"a b", false}, {"a_b", false}, {"æ", false},
	}
	for _, tt := range tests {
		if got := ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
