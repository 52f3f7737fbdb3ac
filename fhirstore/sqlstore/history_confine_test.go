package sqlstore

import (
	"reflect"
	"testing"

	"hpsandbox/fhirstore/search"
)

// The conditions of a confined history, built once per shape and filled
// with each call's sandbox and compartment id, are those built for the
// call itself: the text the same, the arguments in the same places.
func TestConfinedVersions_ShapeBuiltOnceGivesTheCallsOwnConditions(t *testing.T) {
	patient := func(id string) *search.Confinement {
		return &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: id}}
	}
	withBase := func(id string) *search.Confinement {
		c := patient(id)
		c.Base, c.Types, c.Excluded = "http://sandbox.test/fhir", []string{"Observation", "Patient"}, []string{"Group"}
		return c
	}
	for _, tc := range []struct {
		name  string
		conf  func(id string) *search.Confinement
		types []string
		few   bool
	}{
		{"system", patient, nil, false},
		{"type", patient, []string{"Observation"}, false},
		{"instance", patient, []string{"Patient"}, true},
		{"base, types and excluded", withBase, []string{"Observation"}, false},
		{"base, system", withBase, nil, false},
	} {
		for _, call := range []struct{ sandbox, id string }{{"sb1", "p1"}, {"sb2", "p2"}, {"sb1", "x"}} {
			cur, curArgs, past, pastArgs := confinedVersions(call.sandbox, tc.conf(call.id), tc.types, tc.few)
			wCur, wCurArgs, wPast, wPastArgs := buildConfinedVersions(call.sandbox, tc.conf(call.id), tc.types, tc.few)
			if cur != wCur || past != wPast {
				t.Errorf("%s, %v: the text of the shape differs from the call's", tc.name, call)
			}
			if !reflect.DeepEqual(curArgs, wCurArgs) || !reflect.DeepEqual(pastArgs, wPastArgs) {
				t.Errorf("%s, %v: arguments\n%v\n%v\nwant\n%v\n%v", tc.name, call, curArgs, pastArgs, wCurArgs, wPastArgs)
			}
		}
		key, ok := confinedShapeKey(tc.conf("p1"), tc.types, tc.few)
		if _, hit := confinedShapes.Load(key); !ok || !hit {
			t.Errorf("%s: the shape is not kept", tc.name)
		}
	}
	// Constraints are built per call.
	f := &search.Filter{}
	conf := patient("p1")
	conf.Constraints = map[string][]search.Constraint{"Observation": {{f}}}
	if _, ok := confinedShapeKey(conf, nil, false); ok {
		t.Error("a confinement with constraints has a shape key")
	}
}

func BenchmarkConfinedVersions_System(b *testing.B) {
	conf := &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "p1"}}
	b.Run("built", func(b *testing.B) {
		for b.Loop() {
			buildConfinedVersions("sb", conf, nil, false)
		}
	})
	b.Run("shape", func(b *testing.B) {
		for b.Loop() {
			confinedVersions("sb", conf, nil, false)
		}
	})
}
