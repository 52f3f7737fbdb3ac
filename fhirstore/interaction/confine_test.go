package interaction_test

import (
	"errors"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
)

func observationOf(id, patient string) string {
	head := `{"resourceType":"Observation",`
	if id != "" {
		head += `"id":"` + id + `",`
	}
	return head + `"status":"final","code":{"text":"puls"},"subject":{"reference":"Patient/` + patient + `"}}`
}

// confinedToA is a fixture with Patients a and b, an Observation of each
// (oa, ob), and a context confined to Patient/a's compartment.
func confinedToA(t *testing.T) *fixture {
	f := newFixture(t)
	f.put(`{"resourceType":"Patient","id":"a"}`)
	f.put(`{"resourceType":"Patient","id":"b"}`)
	f.put(observationOf("oa", "a"))
	f.put(observationOf("ob", "b"))
	f.ctx = search.ConfineTo(f.ctx, &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "a"}})
	return f
}

func TestWrite_UnderAConfinement_LandsOnlyInTheCompartment(t *testing.T) {
	tests := []struct {
		name string
		w    interaction.Write
		want outcome.Category // "" lands
	}{
		{"create of Patient/a's", interaction.Write{Kind: interaction.Create, Type: "Observation", Body: []byte(observationOf("", "a"))}, ""},
		{"create of Patient/b's", interaction.Write{Kind: interaction.Create, Type: "Observation", Body: []byte(observationOf("", "b"))}, outcome.Denied},
		{"update within a", interaction.Write{Kind: interaction.Update, Type: "Observation", ID: "oa", Body: []byte(observationOf("oa", "a"))}, ""},
		{"update moving a's to b", interaction.Write{Kind: interaction.Update, Type: "Observation", ID: "oa", Body: []byte(observationOf("oa", "b"))}, outcome.Denied},
		{"update taking b's into a", interaction.Write{Kind: interaction.Update, Type: "Observation", ID: "ob", Body: []byte(observationOf("ob", "a"))}, outcome.Denied},
		{"update creating b's", interaction.Write{Kind: interaction.Update, Type: "Observation", ID: "new", Body: []byte(observationOf("new", "b"))}, outcome.Denied},
		{"delete of a's", interaction.Write{Kind: interaction.Delete, Type: "Observation", ID: "oa"}, ""},
		{"delete of b's", interaction.Write{Kind: interaction.Delete, Type: "Observation", ID: "ob"}, outcome.Denied},
		{"delete of Patient/b", interaction.Write{Kind: interaction.Delete, Type: "Patient", ID: "b"}, outcome.Denied},
		{"patch of b's", interaction.Write{Kind: interaction.Patch, Patch: interaction.JSONPatch, Type: "Observation", ID: "ob",
			Body: []byte(`[{"op":"replace","path":"/status","value":"amended"}]`)}, outcome.Denied},
		{"patch moving a's to b", interaction.Write{Kind: interaction.Patch, Patch: interaction.JSONPatch, Type: "Observation", ID: "oa",
			Body: []byte(`[{"op":"replace","path":"/subject/reference","value":"Patient/b"}]`)}, outcome.Denied},
		{"conditional update of b's by criteria finds nothing to update, and creates nothing in b", interaction.Write{Kind: interaction.ConditionalUpdate,
			Type: "Observation", Criteria: "_id=ob", Body: []byte(observationOf("", "b"))}, outcome.Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := confinedToA(t)
			before := f.versions()
			_, err := f.write(tt.w)
			if got := category(err); got != tt.want {
				t.Fatalf("got %v, want category %q", err, tt.want)
			}
			if tt.want == "" {
				return
			}
			if f.versions() != before {
				t.Errorf("a refused write left versions behind: %d, want %d", f.versions(), before)
			}
			if is := issue(t, err); is.Code != outcome.Forbidden {
				t.Errorf("issue %+v, want code forbidden naming the resource", is)
			}
		})
	}
}

func TestWrite_UnderAConfinement_CreatedObservationOfAnotherPatientIsNotWritten(t *testing.T) {
	f := confinedToA(t)
	_, err := f.eng.Create(f.ctx, sb, []byte(observationOf("", "b")))
	if category(err) != outcome.Denied {
		t.Fatalf("create of Patient/b's Observation under Patient/a: %v", err)
	}
	if n := f.count("Observation", "subject=Patient/b"); n != 1 {
		t.Errorf("%d Observations of Patient/b, want only ob", n)
	}
	v, err := f.eng.Create(f.ctx, sb, []byte(observationOf("", "a")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.read("Observation", v.ID); err != nil {
		t.Errorf("the Observation of Patient/a did not land: %v", err)
	}
}

func TestTransaction_UnderAConfinement_AnEntryOutsideRollsBackAll(t *testing.T) {
	f := confinedToA(t)
	before := f.versions()
	_, err := f.bundle(`{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":`+observationOf("", "a")+`,"request":{"method":"POST","url":"Observation"}},
	 {"resource":`+observationOf("", "b")+`,"request":{"method":"POST","url":"Observation"}}]}`, false)
	var oe *outcome.Error
	if !errors.As(err, &oe) || oe.Category != outcome.Denied || len(oe.Issues[0].Expression) == 0 || oe.Issues[0].Expression[0] != "Bundle.entry[1]" {
		t.Fatalf("got %v, want forbidden naming Bundle.entry[1]", err)
	}
	if f.versions() != before {
		t.Errorf("the transaction left %d versions, want none", f.versions()-before)
	}
	b, err := f.bundle(`{"resourceType":"Bundle","type":"batch","entry":[
	 {"resource":`+observationOf("", "a")+`,"request":{"method":"POST","url":"Observation"}},
	 {"request":{"method":"DELETE","url":"Observation/ob"}}]}`, false)
	if err != nil {
		t.Fatal(err)
	}
	if b.Entry[0].Response.Status != "201 Created" || b.Entry[1].Response.Status != "403 Forbidden" {
		t.Errorf("batch: %q, %q; want 201 Created, 403 Forbidden", b.Entry[0].Response.Status, b.Entry[1].Response.Status)
	}
	if _, err := f.read("Observation", "ob"); err != nil {
		t.Errorf("Observation/ob: %v", err)
	}
}

func TestWrite_WithoutAConfinement_WritesAnyCompartment(t *testing.T) {
	f := confinedToA(t)
	f.ctx = t.Context()
	if _, err := f.write(interaction.Write{Kind: interaction.Delete, Type: "Observation", ID: "ob"}); err != nil {
		t.Fatal(err)
	}
	var gone *fhirstore.GoneError
	if _, err := f.read("Observation", "ob"); !errors.As(err, &gone) {
		t.Errorf("Observation/ob after delete: %v", err)
	}
}
