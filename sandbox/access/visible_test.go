package access

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

const base = "http://sandbox.test/fhir"

// visibleStore holds Patient/pat-a's vital sign, Patient/pat-b's, and a
// laboratory result of pat-a.
func visibleStore(t testing.TB) fhirstore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	obs := func(id, subject, category, code string) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final",
			"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"` + category + `"}]}],
			"code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]},"subject":{"reference":"` + subject + `"}}`
	}
	for _, b := range []string{
		`{"resourceType":"Patient","id":"pat-a"}`, `{"resourceType":"Patient","id":"pat-b"}`,
		obs("obs-a", "Patient/pat-a", "vital-signs", "8867-4"), obs("obs-b", "Patient/pat-b", "vital-signs", "8867-4"),
		obs("obs-a-lab", "Patient/pat-a", "laboratory", "4548-4"),
		// pat-a's by absolute URL: under this server's base, and another
		// server's patient of the same id.
		obs("obs-a-here", base+"/Patient/pat-a", "vital-signs", "8867-4"),
		obs("obs-a-there", "https://elsewhere.test/fhir/Patient/pat-a", "vital-signs", "8867-4"),
	} {
		r, err := fhirjson.Parse([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(context.Background(), fhirstore.DefaultSandbox, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// The store applies a scope's constraints as a search applies its
// parameters, for token parameters; a constraint with any other parameter
// or a modifier matches nothing, so that what the server does not apply is
// refused rather than widened.
func TestVisible_ConstraintsMatchTokenParametersLikeSearch(t *testing.T) {
	s := visibleStore(t)
	tests := []struct {
		constraint string
		want       bool
	}{
		{"category=vital-signs", true},
		{"category=" + url.QueryEscape(vitalSigns), true},
		{"category=http://terminology.hl7.org/CodeSystem/observation-category|", true},
		{"category=laboratory", false},
		{"category=laboratory,vital-signs", true},
		{"category=|vital-signs", false}, // the coding has a system
		{"category=http://other|vital-signs", false},
		{"category=vital-signs&code=8867-4", true},
		{"category=vital-signs&code=4548-4", false},
		{"category=vital-signs&category=laboratory", false}, // both must match
		{"date=2024", false},                                // not a token parameter: not applied, so no match
		{"category:not=laboratory", false},                  // modifiers are not applied
		{"nonsense=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.constraint, func(t *testing.T) {
			for _, level := range []string{"user", "patient"} {
				scope := level + "/Observation.rs?" + tt.constraint
				d := Decide(token(t, "", "launch/patient "+scope), request(t, "GET", "Observation/obs-a"))
				if d.Effect != AllowNarrowed || d.Confinement == nil {
					t.Fatalf("%s: %v %v, want narrowed", scope, d.Effect, d.Err)
				}
				_, err := s.Read(search.ConfineTo(context.Background(), d.Confinement), fhirstore.DefaultSandbox, "Observation", "obs-a")
				if err != nil && !errors.Is(err, fhirstore.ErrNotVisible) {
					t.Fatalf("%s: %v", scope, err)
				}
				if got := err == nil; got != tt.want {
					t.Errorf("%s: visible %v (%v), want %v", scope, got, err, tt.want)
				}
			}
		})
	}
}

func TestVisible_ReadAtPatientLevel_IsTheCompartmentAsTheStoreSeesIt(t *testing.T) {
	s := visibleStore(t)
	tests := []struct {
		scopes, typ, id string
		// want is "" when visible, else what the refusal says.
		want string
	}{
		{"patient/*.rs", "Observation", "obs-a", ""},
		{"patient/*.rs", "Patient", "pat-a", ""},
		{"patient/*.rs", "Observation", "obs-b", "not in the compartment of Patient/pat-a"},
		{"patient/*.rs", "Patient", "pat-b", "not in the compartment of Patient/pat-a"},
		{"patient/*.rs", "Observation", "no-such", ""}, // left to the API's 404
		{"patient/*.rs", "Observation", "obs-a-here", ""},
		{"patient/*.rs", "Observation", "obs-a-there", "not in the compartment of Patient/pat-a"},
		{"patient/Observation.rs?category=laboratory", "Observation", "obs-a-lab", ""},
		{"patient/Observation.rs?category=laboratory", "Observation", "obs-a", "or does not match the constraints"},
		{"user/Observation.rs?category=laboratory", "Observation", "obs-b", "does not match the constraints of the token's Observation scope"},
	}
	for _, tt := range tests {
		r := request(t, "GET", tt.typ+"/"+tt.id)
		r.Base = base
		d := Decide(token(t, "", "launch/patient "+tt.scopes), r)
		_, err := s.Read(search.ConfineTo(context.Background(), d.Confinement), fhirstore.DefaultSandbox, tt.typ, tt.id)
		if errors.Is(err, fhirstore.ErrNotFound) {
			err = nil // left to the API's 404
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %s/%s: %v, want visible", tt.scopes, tt.typ, tt.id, err)
		case tt.want != "" && !errors.Is(err, fhirstore.ErrNotVisible):
			t.Errorf("%s %s/%s: %v, want it refused as not visible (%s)", tt.scopes, tt.typ, tt.id, err, tt.want)
		}
	}
}
