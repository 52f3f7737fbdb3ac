package interaction_test

import (
	"strings"
	"testing"

	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

// bp builds a blood-pressure Observation with the given components.
func bp(components string) string {
	return `{"resourceType":"Observation","status":"final",` +
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"subject":{"reference":"Patient/p1"},` +
		`"effectiveDateTime":"2026-11-02T10:00:00+01:00","component":[` + components + `]}`
}

const (
	systolic  = `{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}`
	diastolic = `{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}`
	bpProfile = "http://hl7.org/fhir/StructureDefinition/bp"
)

// $validate judges a resource against its definition and the profiles the
// request names (the profile parameter, in the query or a Parameters
// body) or the resource declares: slices, invariants and bindings, each
// issue naming the element and the rule.
func TestValidate_JudgesAgainstProfiles(t *testing.T) {
	f := newFixture(t)
	declared := strings.Replace(bp(systolic), `"status"`, `"meta":{"profile":["`+bpProfile+`"]},"status"`, 1)
	tests := []struct {
		name, body string
		profiles   []string
		errors     bool
		want       []string
	}{
		{"conforms to the named profile", bp(systolic + "," + diastolic), []string{bpProfile}, false, []string{"conforms to " + bpProfile}},
		{"a missing slice of the named profile", bp(systolic), []string{bpProfile}, true, []string{"DiastolicBP", "Observation.component"}},
		{"a missing slice of a declared profile", declared, nil, true, []string{"DiastolicBP"}},
		{"profile in a Parameters body", `{"resourceType":"Parameters","parameter":[{"name":"profile","valueCanonical":"` + bpProfile + `"},{"name":"resource","resource":` + bp(systolic) + `}]}`, nil, true, []string{"DiastolicBP"}},
		{"without a profile the base definition only", bp(systolic), nil, false, []string{"is valid FHIR R4"}},
		{"an invariant of the base definition", strings.Replace(bp(systolic+","+diastolic), `"status":"final"`, `"status":"final","valueString":"x","dataAbsentReason":{"text":"gone"}`, 1), nil, true, []string{"obs-6"}},
		{"a required binding", strings.Replace(bp(systolic+","+diastolic), `"status":"final"`, `"status":"done"`, 1), nil, true, []string{"Observation.status"}},
		{"an unknown profile", bp(systolic + "," + diastolic), []string{"http://example.org/fhir/StructureDefinition/nothing"}, true, []string{"nothing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issues, err := f.eng.Validate(f.ctx, &interaction.ValidateRequest{Sandbox: sb, Type: "Observation", Body: []byte(tt.body), Profiles: tt.profiles})
			if err != nil {
				t.Fatal(err)
			}
			text := string(outcome.JSON(issues))
			hasErr := false
			for _, is := range issues {
				hasErr = hasErr || is.Severity == outcome.ErrorLevel || is.Severity == outcome.Fatal
			}
			if hasErr != tt.errors {
				t.Errorf("errors %v, want %v: %s", hasErr, tt.errors, text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("outcome lacks %q: %s", w, text)
				}
			}
		})
	}
	if n := f.versions(); n != 0 {
		t.Errorf("$validate wrote %d versions", n)
	}
}
