package fhirjson

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/fhirstore/outcome"
)

// Every element of type Resource holds a resource validated as one, under
// the element's path.
func TestParse_ResourceTypedElementsHoldValidatedResources(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		cat        outcome.Category // "": accepted
		expression string
	}{
		{"Parameters.parameter.resource", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","id":"x","active":true}}]}`, "", ""},
		{"Parameters.parameter.part.resource", `{"resourceType":"Parameters","parameter":[{"name":"a","part":[{"name":"b","resource":{"resourceType":"Coverage","status":"active","beneficiary":{"reference":"Patient/1"},"payor":[{"reference":"Organization/o"}]}}]}]}`, "", ""},
		{"Parameters in Parameters", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Parameters","parameter":[{"name":"q","resource":{"resourceType":"Patient"}}]}}]}`, "", ""},
		{"contained Parameters holding a resource", `{"resourceType":"Patient","contained":[{"resourceType":"Parameters","id":"c","parameter":[{"name":"x","resource":{"resourceType":"Patient"}}]}]}`, "", ""},
		{"Bundle.entry.resource", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient"}}]}}]}`, "", ""},
		{"Bundle.entry.response.outcome", `{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"400","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid"}]}}}]}`, "", ""},

		{"unknown element in a parameter's resource", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","foo":1}}]}`, outcome.Incorrect, "Parameters.parameter[0].resource.Patient.foo"},
		{"unknown element in a part's resource", `{"resourceType":"Parameters","parameter":[{"name":"a","part":[{"name":"b"},{"name":"c","resource":{"resourceType":"Patient","foo":1}}]}]}`, outcome.Incorrect, "Parameters.parameter[0].part[1].resource.Patient.foo"},
		{"wrong primitive in a parameter's resource", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","birthDate":"1.2.1980"}}]}`, outcome.Incorrect, "Parameters.parameter[0].resource.Patient.birthDate"},
		{"missing required element in a parameter's resource", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Observation","code":{"text":"x"}}}]}`, outcome.Unprocessable, "Parameters.parameter[0].resource.Observation.status"},
		{"missing required element in a contained resource", `{"resourceType":"Patient","contained":[{"resourceType":"Observation","id":"o","code":{"text":"x"}}]}`, outcome.Unprocessable, "Patient.contained[0].Observation.status"},
		{"unknown element in a contained resource", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o"},{"resourceType":"Organization","foo":1}]}`, outcome.Incorrect, "Patient.contained[1].Organization.foo"},
		{"missing required element in an entry's resource", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","code":{"text":"x"}}}]}`, outcome.Unprocessable, "Bundle.entry[0].resource.Observation.status"},
		{"missing required element in a response outcome", `{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"400","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error"}]}}}]}`, outcome.Unprocessable, "Bundle.entry[0].response.outcome.OperationOutcome.issue[0].code"},
		{"a resource without resourceType", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"id":"a"}}]}`, outcome.Incorrect, "Parameters.parameter[0].resource.resourceType"},
		{"a resource of no FHIR type", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Nope"}}]}`, outcome.Incorrect, "Parameters.parameter[0].resource.resourceType"},
		{"a resource that is not an object", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":"Patient/1"}]}`, outcome.Incorrect, "Parameters.parameter[0].resource"},
		{"a parse failure beside a broken rule is a 400", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Observation","code":{"text":"x"}}},{"name":"q","resource":{"resourceType":"Patient","foo":1}}]}`, outcome.Incorrect, "Parameters.parameter[0].resource.Observation.status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.body))
			if tt.cat == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if string(r.Body) != tt.body {
					t.Errorf("body %s, want it as sent", r.Body)
				}
				return
			}
			var oe *outcome.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %v, want an outcome", err)
			}
			if oe.Category != tt.cat || len(oe.Issues[0].Expression) == 0 || oe.Issues[0].Expression[0] != tt.expression {
				t.Errorf("got %v, want %s at %s", oe, tt.cat, tt.expression)
			}
		})
	}
}

func TestParse_ResourcesNestedTooDeepAreRefused(t *testing.T) {
	body := `{"resourceType":"Patient"}`
	for i := 0; i < maxResourceNesting+1; i++ {
		body = `{"resourceType":"Parameters","parameter":[{"name":"p","resource":` + body + `}]}`
	}
	if _, err := Parse([]byte(body)); err == nil {
		t.Error("resources nested deeper than the bound were accepted")
	}
}

// The R4 validator's own test cases that hold resources in elements of
// type Resource get the reference validator's verdict (testdata/validator-r4).
func TestParse_ValidatorCasesWithResourceTypedElements(t *testing.T) {
	dir := filepath.Join("testdata", "validator-r4")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Cases []struct{ Name, File, Java string } `json:"test-cases"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Cases {
		t.Run(c.Name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			ob, err := os.ReadFile(filepath.Join(dir, "outcomes", c.Java))
			if err != nil {
				t.Fatal(err)
			}
			var java struct{ Issue []struct{ Severity string } }
			if err := json.Unmarshal(ob, &java); err != nil {
				t.Fatal(err)
			}
			valid := true
			for _, is := range java.Issue {
				valid = valid && is.Severity != "error" && is.Severity != "fatal"
			}
			if _, err := Parse(body); (err == nil) != valid {
				t.Errorf("Parse error %v; the reference validator judged it valid: %v", err, valid)
			}
		})
	}
}

// TestRelativeType_AgreesWithThePattern: the byte scan reads the type of
// exactly the references relativeRef matches.
func TestRelativeType_AgreesWithThePattern(t *testing.T) {
	for _, ref := range []string{"Patient/1", "Patient/a.b-C", "Patient/1/_history/2", "Nonsense/x", "Patient/", "/1", "Patient",
		"Patient/1/_history/", "Patient/1/_history/2/_history/3", "Patient/1 2", "Pat1ent/1", "urn:uuid:1", "http://x/Patient/1",
		"Patient/" + strings.Repeat("a", 64), "Patient/" + strings.Repeat("a", 65), "Patient/1/_history/" + strings.Repeat("9", 65), "Patient/1/x"} {
		typ, ok := relativeType(ref)
		m := relativeRef.FindStringSubmatch(ref)
		if ok != (m != nil) || (ok && typ != m[1]) {
			t.Errorf("relativeType(%q) = %q, %v; the pattern says %q", ref, typ, ok, m)
		}
	}
}

func FuzzRelativeType(f *testing.F) {
	f.Add("Patient/1/_history/2")
	f.Add("Nonsense/x")
	f.Fuzz(func(t *testing.T, ref string) {
		typ, ok := relativeType(ref)
		m := relativeRef.FindStringSubmatch(ref)
		if ok != (m != nil) || (ok && typ != m[1]) {
			t.Fatalf("relativeType(%q) = %q, %v; the pattern says %q", ref, typ, ok, m)
		}
	})
}
