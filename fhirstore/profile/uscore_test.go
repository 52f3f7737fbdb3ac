package profile

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"testing"

	"hpsandbox/fhirstore/outcome"
)

// usCore loads the US Core profiles of testdata/uscore: published
// snapshots, complex extensions, slicing on extensions by url.
func usCore(t *testing.T) *Definitions {
	t.Helper()
	d := New()
	for _, f := range []string{"uscore-v5.0.1-structuredefinitions.json.gz", "uscore-v7.0.0-smoking-status.json.gz"} {
		fh, err := os.Open("testdata/uscore/" + f)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			list = []json.RawMessage{raw}
		}
		for _, r := range list {
			if err := d.Add(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	return d
}

func TestValidate_USCorePatient(t *testing.T) {
	d := usCore(t)
	good := `{"resourceType":"Patient","id":"example","meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
	"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Amy Shaw</div>"},
	"extension":[{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race","extension":[
	  {"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":"2106-3","display":"White"}},
	  {"url":"text","valueString":"Mixed"}]},
	 {"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex","valueCode":"F"}],
	"identifier":[{"system":"http://hospital.smarthealthit.org","value":"1032702"}],
	"name":[{"family":"Shaw","given":["Amy"]}],"gender":"female","birthDate":"1987-02-20"}`
	if issues := d.Validate([]byte(good), Options{}); HasErrors(issues) {
		t.Errorf("good US Core Patient:\n%s", dump(issues))
	}
	bad := `{"resourceType":"Patient","meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
	"extension":[{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race","extension":[
	  {"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":"2106-3"}}]}],
	"name":[{"family":"Shaw"}],"gender":"female"}`
	issues := d.Validate([]byte(bad), Options{})
	for _, w := range []want{
		{"cardinality", outcome.ErrorLevel, "Patient"},                 // identifier 1..*
		{"text", outcome.ErrorLevel, "Patient.extension[0].extension"}, // the race extension's text slice
	} {
		if !hasIssue(issues, w) {
			t.Errorf("bad US Core Patient: missing %+v in\n%s", w, dump(issues))
		}
	}
}

func TestValidate_USCoreSmokingStatus(t *testing.T) {
	d := usCore(t)
	obs := `{"resourceType":"Observation","id":"s","meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-smokingstatus"]},
	"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"social-history"}]}],
	"code":{"coding":[{"system":"http://loinc.org","code":"72166-2"}]},"subject":{"reference":"Patient/example"},"effectiveDateTime":"2020-01-01",
	"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"449868002"}]}}`
	if issues := d.Validate([]byte(obs), Options{}); HasErrors(issues) {
		t.Errorf("smoking status:\n%s", dump(issues))
	}
	noSubject := `{"resourceType":"Observation","meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-smokingstatus"]},
	"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"72166-2"}]}}`
	if issues := d.Validate([]byte(noSubject), Options{}); !hasIssue(issues, want{"cardinality", outcome.ErrorLevel, "Observation"}) {
		t.Errorf("a smoking status without subject passed:\n%s", dump(issues))
	}
}
