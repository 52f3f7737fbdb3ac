package profile

import (
	"strings"
	"testing"
)

// Defects the official R4 examples showed (TestR4Examples): each case is
// valid, and was once reported otherwise.
func TestValidate_ValidShapesTheExamplesUse(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"a contained resource whose id looks like a year (ref-1)",
			`{"resourceType":"RequestGroup","contained":[{"resourceType":"Medication","id":"1111"}],"status":"draft","intent":"proposal",` +
				`"action":[{"resource":{"reference":"#1111"}}]}`},
		{"an extension whose value has extensions only (ext-1)",
			`{"resourceType":"Patient","extension":[{"url":"http://example.org/x","_valueString":{"extension":[{"url":"http://example.org/y","valueString":"a"}]}}]}`},
		{"a core profile as a reference's target (vitalsigns)",
			`{"resourceType":"Observation","meta":{"profile":["http://hl7.org/fhir/StructureDefinition/vitalspanel"]},"status":"final",` +
				`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],` +
				`"code":{"coding":[{"system":"http://loinc.org","code":"85353-1"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2020-01-01",` +
				`"hasMember":[{"reference":"Observation/hr"}]}`},
		{"a SearchParameter derived from one of Resource, on Resource",
			`{"resourceType":"SearchParameter","url":"http://example.org/sp","name":"id","status":"active","description":"d","code":"_id",` +
				`"base":["Resource"],"type":"token","derivedFrom":"http://hl7.org/fhir/SearchParameter/Resource-id","expression":"Resource.id"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if issues := Core().Validate([]byte(tt.doc), Options{}); HasErrors(issues) {
				t.Errorf("errors:\n%s", dump(issues))
			}
		})
	}
}

// The core definitions name no target profile of another server (the
// source package adds its own, such as Bot, to AuditEvent.source.observer).
func TestCore_TargetProfilesAreHL7s(t *testing.T) {
	sd := Core().StructureDefinition("AuditEvent")
	for _, el := range sd.Snapshot.Element {
		for _, ty := range el.Type {
			for _, p := range ty.TargetProfile {
				if !strings.HasPrefix(p, "http://hl7.org/fhir/") {
					t.Errorf("%s: target profile %s", el.Path, p)
				}
			}
		}
	}
}
