package tenant

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const heartRate = "http://hl7.org/fhir/StructureDefinition/heartrate"

func TestProfileEnforcement_Validate(t *testing.T) {
	tests := []struct {
		name  string
		p     ProfileEnforcement
		field string // "" when valid
	}{
		{"nothing", ProfileEnforcement{}, ""},
		{"declared", ProfileEnforcement{Declared: true}, ""},
		{"required", ProfileEnforcement{Required: map[string][]string{"Observation": {heartRate, heartRate + "|4.0.1"}}}, ""},
		{"an unknown type", ProfileEnforcement{Required: map[string][]string{"Observations": {heartRate}}}, "settings.profile_enforcement.required"},
		{"a relative URL", ProfileEnforcement{Required: map[string][]string{"Observation": {"StructureDefinition/heartrate"}}}, "settings.profile_enforcement.required.Observation"},
		{"too many profiles", ProfileEnforcement{Required: map[string][]string{"Observation": make([]string, maxRequiredProfiles+1)}}, "settings.profile_enforcement.required.Observation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (Settings{ProfileEnforcement: tt.p}).validate()
			var ie *InvalidError
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.field != "" && (!errors.As(err, &ie) || ie.Field != tt.field):
				t.Errorf("got %v, want an error of %s", err, tt.field)
			}
		})
	}
}

// A profile_enforcement object decoded over settings replaces the current
// one: types left out are no longer required.
func TestProfileEnforcement_DecodedAsAWhole(t *testing.T) {
	s := Settings{Secured: true, ProfileEnforcement: ProfileEnforcement{Required: map[string][]string{"Observation": {heartRate}, "Patient": {heartRate}}}}
	if err := json.Unmarshal([]byte(`{"profile_enforcement":{"declared":true,"required":{"Patient":["`+heartRate+`"]}}}`), &s); err != nil {
		t.Fatal(err)
	}
	want := ProfileEnforcement{Declared: true, Required: map[string][]string{"Patient": {heartRate}}}
	if !reflect.DeepEqual(s.ProfileEnforcement, want) || !s.Secured {
		t.Errorf("got %+v", s)
	}
	err := json.Unmarshal([]byte(`{"profile_enforcement":{"declare":true}}`), &s)
	if err == nil || !strings.Contains(err.Error(), "declare") {
		t.Errorf("an unknown field was accepted: %v", err)
	}
}
