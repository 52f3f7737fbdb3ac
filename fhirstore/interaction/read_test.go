package interaction_test

import (
	"errors"
	"net/url"
	"testing"

	"hpsandbox/fhirstore/outcome"
)

// The read, search and update connectors use answer as the REST API does:
// FHIR errors with their categories, searches parsed by the API's rules.
func TestReadSearchUpdate(t *testing.T) {
	f := newFixture(t)
	f.put(patientP1)
	f.put(`{"resourceType":"Patient","id":"p2","name":[{"family":"Hansen"}]}`)

	r, err := f.eng.Read(f.ctx, sb, "Patient", "p1")
	if err != nil || r.ID != "p1" || r.Version != 1 {
		t.Fatalf("Read = %+v, %v", r, err)
	}
	if _, err := f.eng.Read(f.ctx, sb, "Patient", "nobody"); outcome.CategoryOf(err) != outcome.Missing {
		t.Errorf("Read of an unknown id: %v, want Missing", err)
	}

	page, err := f.eng.Search(f.ctx, sb, "Patient", url.Values{"family": {"Hansen"}})
	if err != nil || len(page.Matches) != 1 || page.Matches[0].ID != "p2" {
		t.Fatalf("Search family=Hansen = %+v, %v", page, err)
	}
	if _, err := f.eng.Search(f.ctx, sb, "Patient", url.Values{"birthdate": {"not-a-date"}}); outcome.CategoryOf(err) != outcome.Incorrect {
		t.Errorf("Search with a malformed date: %v, want Incorrect", err)
	}

	v, err := f.eng.Update(f.ctx, sb, []byte(`{"resourceType":"Patient","id":"p2","name":[{"family":"Berg"}]}`), 1)
	if err != nil || v.Version != 2 {
		t.Fatalf("Update = %+v, %v", v, err)
	}
	if _, err := f.eng.Update(f.ctx, sb, []byte(`{"resourceType":"Patient","id":"p2","active":true}`), 1); outcome.CategoryOf(err) != outcome.PreconditionFailed {
		t.Errorf("Update expecting a stale version: %v, want PreconditionFailed", err)
	}
	var oe *outcome.Error
	if _, err := f.eng.Update(f.ctx, sb, []byte(`{"resourceType":"Patient"}`), 0); !errors.As(err, &oe) || oe.Category != outcome.Incorrect {
		t.Errorf("Update without an id: %v, want Incorrect", err)
	}
	if got := f.count("Patient", "family=Berg"); got != 1 {
		t.Errorf("after the update, family=Berg matches %d", got)
	}
}
