package vkp_test

import (
	"errors"
	"testing"

	"hpsandbox/connectors/vkp"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// vouchedValid fails t unless the transaction of s, which Deliver vouches
// for, is valid R4 as the engine would judge it unvouched: the Bundle and
// every resource in it, by fhirjson.Parse.
func vouchedValid(t testing.TB, s *vkp.Submission) {
	t.Helper()
	if !vkp.Vouched(s) {
		return
	}
	for _, patient := range []string{"", "Patient/persona-home-care"} {
		s.Patient = patient
		tx, err := s.Transaction(vkp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fhirjson.Parse(tx); err != nil {
			t.Fatalf("the vouched transaction (patient %q) is not valid R4: %v\n%s", patient, err, tx)
		}
	}
}

func TestTransaction_VouchedIsValidR4(t *testing.T) {
	for name, body := range validSubmissions(t) {
		t.Run(name, func(t *testing.T) {
			s, err := vkp.Parse(body, nil, vkp.Alarm, vkp.Supervision, vkp.Dispense, vkp.Measurements)
			if err != nil {
				t.Fatal(err)
			}
			if !vkp.Vouched(s) {
				t.Fatal("a valid submission is not vouched for")
			}
			s.Display = "Astrid <Rønning> & co"
			vouchedValid(t, s)
		})
	}
}

func TestParse_FullURLNotAURINotVouched(t *testing.T) {
	body := replace(readFile(t, "alarm.json"), `"fullUrl": "urn:uuid:3f0c8a8e-1d2b-4c5e-9f60-7a8b9c0d1e01"`, `"fullUrl": "urn:uuid:3f0c8a8e 1d2b"`)
	s, err := vkp.Parse(body, nil, vkp.Alarm)
	if err != nil {
		t.Fatal(err)
	}
	if vkp.Vouched(s) {
		t.Fatal("a transaction with a fullUrl that is no uri is vouched for")
	}
}

// TestParse_R4RefusedNamingTheEntry: what google/fhir refuses is refused
// by Parse, below the entry's path, before anything is stored.
func TestParse_R4RefusedNamingTheEntry(t *testing.T) {
	// Composition.encounter may refer to an Encounter only (R4).
	body := replace(readFile(t, "alarm.json"), `"reference": "urn:uuid:3f0c8a8e-1d2b-4c5e-9f60-7a8b9c0d1e02"`, `"reference": "Practitioner/x"`)
	_, err := vkp.Parse(body, nil, vkp.Alarm)
	var oe *outcome.Error
	if !errors.As(err, &oe) || oe.Category.Server() {
		t.Fatalf("Parse = %v, want a client error", err)
	}
	found := false
	for _, is := range oe.Issues {
		for _, x := range is.Expression {
			found = found || x == "Bundle.entry[2].resource.encounter" || x == "Bundle.entry[2].resource.encounter.reference" ||
				x == "Bundle.entry[2].resource.Composition.encounter" || x == "Bundle.entry[2].resource.Composition.encounter.reference"
		}
	}
	if !found {
		t.Errorf("no issue names Composition.encounter: %v", oe.Issues)
	}
}

// TestCheckR4_NamesTheEntry: google/fhir's verdict on a resource names the
// element below its entry, with the engine's category, and a submission
// with one refused is not vouched for.
func TestCheckR4_NamesTheEntry(t *testing.T) {
	for _, tt := range []struct {
		name, raw string
		category  outcome.Category
		where     string
	}{
		{"unknown element", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"notAnElement":1}`, outcome.Incorrect, "Bundle.entry[1].resource.Observation.notAnElement"},
		{"required element missing", `{"resourceType":"Observation","code":{"text":"x"}}`, outcome.Unprocessable, "Bundle.entry[1].resource.Observation.status"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok := `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`
			s := &vkp.Submission{Entries: []vkp.Entry{{Type: "Observation", Raw: []byte(ok)}, {Type: "Observation", Raw: []byte(tt.raw)}}}
			err := vkp.CheckR4(s)
			var oe *outcome.Error
			if !errors.As(err, &oe) || oe.Category != tt.category {
				t.Fatalf("CheckR4 = %v, want %s", err, tt.category)
			}
			if len(oe.Issues) == 0 || len(oe.Issues[0].Expression) == 0 || oe.Issues[0].Expression[0] != tt.where {
				t.Errorf("issues %v, want one at %s", oe.Issues, tt.where)
			}
			if vkp.Vouched(s) {
				t.Error("a submission that R4 refuses is vouched for")
			}
		})
	}
}

// TestParse_GuardReadsTheWholeBundle: the identity-number guard reads the
// Bundle's own elements and resources of any shape, as it did when it
// decoded the body itself.
func TestParse_GuardReadsTheWholeBundle(t *testing.T) {
	const id = `{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"05073500186"}`
	for name, body := range map[string]string{
		"in the Bundle's identifier":     `{"resourceType":"Bundle","type":"collection","identifier":` + id + `,"entry":[{"resource":{"resourceType":"Observation"}}]}`,
		"in a resource that is an array": `{"resourceType":"Bundle","type":"collection","entry":[{"resource":[` + id + `]}]}`,
		"in a resource":                  `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","subject":{"identifier":` + id + `}}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := vkp.Parse([]byte(body), nil, vkp.Measurements); !errors.Is(err, vkp.ErrNotSynthetic) {
				t.Fatalf("Parse = %v, want the number refused as not synthetic", err)
			}
		})
	}
}
