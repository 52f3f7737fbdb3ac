package access

import (
	"context"
	"slices"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// historyStore adds to visibleStore Observation/moved, pat-a's then
// pat-b's; Observation/recat, a vital sign then a laboratory result of
// pat-a; and Observation/gone of pat-a, deleted.
func historyStore(t *testing.T) fhirstore.Store {
	t.Helper()
	s := visibleStore(t)
	ctx := context.Background()
	obs := func(id, subject, category string) {
		t.Helper()
		r, err := fhirjson.Parse([]byte(`{"resourceType":"Observation","id":"` + id + `","status":"final",
			"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"` + category + `"}]}],
			"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"` + subject + `"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, fhirstore.DefaultSandbox, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	obs("moved", "Patient/pat-a", "vital-signs")
	obs("moved", "Patient/pat-b", "vital-signs")
	obs("recat", "Patient/pat-a", "vital-signs")
	obs("recat", "Patient/pat-a", "laboratory")
	obs("gone", "Patient/pat-a", "vital-signs")
	if _, err := s.Delete(ctx, fhirstore.DefaultSandbox, "Observation", "gone"); err != nil {
		t.Fatal(err)
	}
	return s
}

// A vread is judged by the store on the version named, as it was when it
// was current: a version that was in the compartment or met the
// constraint then is visible whatever the resource became.
func TestVersionVisible_JudgesTheVersionAsItWas(t *testing.T) {
	s := historyStore(t)
	tests := []struct {
		scopes, id, version string
		visible             bool
	}{
		{"patient/*.rs", "moved", "1", true},
		{"patient/*.rs", "moved", "2", false},
		{"patient/*.rs", "obs-b", "1", false},
		{"patient/*.rs", "gone", "1", true},
		{"patient/*.rs", "gone", "2", true},  // the deletion of pat-a's
		{"patient/*.rs", "moved", "9", true}, // no such version: the API's 404
		{"patient/*.rs", "moved", "x", true}, // not a version: the API's 400
		{"patient/Observation.rs?category=laboratory", "recat", "1", false},
		{"patient/Observation.rs?category=laboratory", "recat", "2", true},
		{"user/Observation.rs?category=vital-signs", "recat", "1", true},
		{"user/Observation.rs?category=vital-signs", "moved", "2", true},
	}
	for _, tt := range tests {
		path := "Observation/" + tt.id + "/_history/" + tt.version
		d := Decide(token(t, "", "launch/patient "+tt.scopes), request(t, "GET", path))
		if d.Effect != AllowNarrowed || !d.Has(CheckVersion) {
			t.Fatalf("%s %s: %v %v, want narrowed and checked", tt.scopes, path, d.Effect, d.Err)
		}
		err := versionVisible(context.Background(), s, fhirstore.DefaultSandbox, "Observation", tt.id, tt.version, d)
		if got := err == nil; got != tt.visible {
			t.Errorf("%s %s: visible %v (%v), want %v", tt.scopes, path, got, err, tt.visible)
		}
	}
}

// The history of a resource answers the versions visible under the
// confinement; one with none visible is refused, as its read is.
func TestHistoryVisible_RefusesOnlyAResourceWithNoVisibleVersion(t *testing.T) {
	s := historyStore(t)
	tests := []struct {
		scopes, id string
		visible    bool
	}{
		{"patient/*.rs", "obs-a", true},
		{"patient/*.rs", "moved", true}, // its first version
		{"patient/*.rs", "obs-b", false},
		{"patient/*.rs", "gone", true},
		{"patient/*.rs", "no-such", true}, // the API's 404
		{"patient/Observation.rs?category=laboratory", "recat", true},
		{"patient/Observation.rs?category=laboratory", "obs-a", false},
	}
	for _, tt := range tests {
		path := "Observation/" + tt.id + "/_history"
		d := Decide(token(t, "", "launch/patient "+tt.scopes), request(t, "GET", path))
		if d.Effect != AllowNarrowed || !d.Has(CheckHistory) {
			t.Fatalf("%s %s: %v %v, want narrowed and checked", tt.scopes, path, d.Effect, d.Err)
		}
		err := historyVisible(context.Background(), s, fhirstore.DefaultSandbox, "Observation", tt.id, d)
		if got := err == nil; got != tt.visible {
			t.Errorf("%s %s: visible %v (%v), want %v", tt.scopes, path, got, err, tt.visible)
		}
	}
}

// The history of the whole sandbox leaves out the types the token may not
// read, and is refused to patient-level and constrained scopes.
func TestDecide_SystemHistory(t *testing.T) {
	for _, path := range []string{"_history", "metadata/_history"} {
		if d := Decide(token(t, "", "launch/patient patient/*.rs"), request(t, "GET", path)); d.Effect != Refuse || !strings.Contains(d.Err.Error(), "whole sandbox") {
			t.Errorf("%s at patient level: %v %v, want refused", path, d.Effect, d.Err)
		}
		if d := Decide(token(t, "", "user/Observation.rs?category=laboratory user/Patient.rs"), request(t, "GET", path)); d.Effect != Refuse {
			t.Errorf("%s constrained: %v, want refused", path, d.Effect)
		}
		if d := Decide(token(t, "", "user/*.rs"), request(t, "GET", path)); d.Effect != Allow {
			t.Errorf("%s at user level: %v %v, want allowed", path, d.Effect, d.Err)
		}
		d := Decide(token(t, "", "user/Observation.rs user/Patient.rs"), request(t, "GET", path))
		if d.Effect != AllowNarrowed || d.Confinement.Excludes("Observation") || d.Confinement.Excludes("Patient") || !d.Confinement.Excludes("Encounter") {
			t.Errorf("%s of two types: %v %+v, want the other types excluded", path, d.Effect, d.Confinement)
		}
		if slices.Contains(d.Confinement.Types, "Observation") {
			t.Errorf("%s of two types at user level confines them to a compartment", path)
		}
	}
}
