package profile

import (
	"testing"

	"hpsandbox/fhirstore/outcome"
)

// regressionProfile slices a Reference's identifier (made 1..1 by the
// profile) into alternatives that each leave min unset, and names a target
// profile not held here: what the welfare-technology hub's (VKP)
// MedicationDispense profile does with the patient's national id.
const regressionProfile = `{"resourceType":"StructureDefinition","url":"http://example.org/fhir/StructureDefinition/dispense-by-id",
"name":"DispenseById","status":"draft","kind":"resource","abstract":false,"type":"MedicationDispense",
"baseDefinition":"http://hl7.org/fhir/StructureDefinition/MedicationDispense","derivation":"constraint",
"differential":{"element":[
 {"id":"MedicationDispense.subject","path":"MedicationDispense.subject","min":1,
  "type":[{"code":"Reference","targetProfile":["http://hl7.org/fhir/StructureDefinition/Patient","http://example.org/fhir/StructureDefinition/not-held-here"]}]},
 {"id":"MedicationDispense.subject.identifier","path":"MedicationDispense.subject.identifier","min":1,
  "slicing":{"discriminator":[{"type":"value","path":"system"}],"rules":"closed"}},
 {"id":"MedicationDispense.subject.identifier:A","path":"MedicationDispense.subject.identifier","sliceName":"A"},
 {"id":"MedicationDispense.subject.identifier:A.system","path":"MedicationDispense.subject.identifier.system","min":1,"fixedUri":"urn:oid:1.2.3.1"},
 {"id":"MedicationDispense.subject.identifier:B","path":"MedicationDispense.subject.identifier","sliceName":"B"},
 {"id":"MedicationDispense.subject.identifier:B.system","path":"MedicationDispense.subject.identifier.system","min":1,"fixedUri":"urn:oid:1.2.3.2"}]}}`

func regressionDefinitions(t *testing.T) *Definitions {
	t.Helper()
	d := New()
	if err := d.Add([]byte(regressionProfile)); err != nil {
		t.Fatal(err)
	}
	return d
}

func dispenseFor(subject string) []byte {
	return []byte(`{"resourceType":"MedicationDispense","status":"completed","medicationCodeableConcept":{"text":"x"},"subject":` + subject + `}`)
}

// A slice whose min the differential leaves unset starts from the base's
// min, not from the min the same differential gave the sliced element.
func TestSnapshot_SliceMinComesFromTheBaseNotTheSlicedElement(t *testing.T) {
	d := regressionDefinitions(t)
	issues := d.Validate(dispenseFor(`{"identifier":{"system":"urn:oid:1.2.3.1","value":"1"}}`),
		Options{Profiles: []string{"http://example.org/fhir/StructureDefinition/dispense-by-id"}})
	for _, is := range issues {
		if is.Rule == "A" || is.Rule == "B" {
			t.Errorf("one of two alternative slices present:\n%s", dump(issues))
		}
	}
	issues = d.Validate(dispenseFor(`{"display":"no id"}`),
		Options{Profiles: []string{"http://example.org/fhir/StructureDefinition/dispense-by-id"}})
	if w := (want{"cardinality", outcome.ErrorLevel, "MedicationDispense.subject"}); !hasIssue(issues, w) {
		t.Errorf("the sliced element's own min: missing %+v in\n%s", w, dump(issues))
	}
}

// A reference by identifier only names no resource, so a target profile not
// held here does not matter; a reference that names one still says it
// cannot be checked.
func TestValidate_UnknownTargetProfileOnlyForReferencesThatNameAResource(t *testing.T) {
	d := regressionDefinitions(t)
	opts := Options{Profiles: []string{"http://example.org/fhir/StructureDefinition/dispense-by-id"}}
	issues := d.Validate(dispenseFor(`{"identifier":{"system":"urn:oid:1.2.3.2","value":"2"}}`), opts)
	for _, is := range issues {
		if is.Rule == "reference" {
			t.Errorf("by identifier:\n%s", dump(issues))
		}
	}
	issues = d.Validate(dispenseFor(`{"reference":"Patient/p","identifier":{"system":"urn:oid:1.2.3.2","value":"2"}}`), opts)
	if w := (want{"reference", outcome.ErrorLevel, "MedicationDispense.subject"}); !hasIssue(issues, w) {
		t.Errorf("by reference: missing %+v in\n%s", w, dump(issues))
	}
}
