package interaction_test

import (
	"strings"
	"testing"

	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

// oneEntry is a transaction of one entry: resource at method url.
func oneEntry(method, url, resource string) string {
	return `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:0b9e1a52-7c1d-4f4e-9a51-2f6a0d3c4b11",` +
		`"resource":` + resource + `,"request":{"method":"` + method + `","url":"` + url + `"}}]}`
}

// A Bundle whose caller vouches for it (Validated) is not parsed with
// google/fhir again: an element google/fhir refuses is taken, as the
// caller's promise says it cannot be there; without Validated, as the HTTP
// API sends every Bundle, the same Bundle is refused.
func TestBundle_Validated_TakesTheCallersVerdictOnR4(t *testing.T) {
	f := newFixture(t)
	unknown := `{"resourceType":"Patient","id":"v1","notAnElement":true}`
	body := oneEntry("PUT", "Patient/v1", unknown)
	_, err := f.eng.Bundle(f.ctx, &interaction.BundleRequest{Sandbox: sb, Body: []byte(body)})
	if category(err) != outcome.Incorrect {
		t.Fatalf("an unknown element without Validated: %v, want refused as incorrect", err)
	}
	if _, err := f.read("Patient", "v1"); err == nil {
		t.Fatal("a refused transaction wrote the Patient")
	}
	if _, err := f.eng.Bundle(f.ctx, &interaction.BundleRequest{Sandbox: sb, Body: []byte(body), Validated: true}); err != nil {
		t.Fatalf("with Validated: %v", err)
	}
	got, err := f.read("Patient", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got.Body), `"notAnElement":true`) || strings.Contains(string(got.Body), "\n") {
		t.Errorf("stored %s, want the resource compacted as posted", got.Body)
	}
}

// What the engine checks itself holds with Validated too: the resource's
// type against its entry, the id against the URL, a body that is no
// typed JSON object (parsed in full after all), and the profiles the
// sandbox enforces.
func TestBundle_Validated_KeepsTheEnginesOwnChecks(t *testing.T) {
	tests := []struct {
		name, method, url, resource string
		want                        outcome.Category
	}{
		{"type differs from request.url", "POST", "Observation", `{"resourceType":"Patient"}`, outcome.Incorrect},
		{"id differs from request.url", "PUT", "Patient/a1", `{"resourceType":"Patient","id":"b2"}`, outcome.Incorrect},
		{"malformed id", "PUT", "Patient/a1", `{"resourceType":"Patient","id":"a 1"}`, outcome.Unprocessable},
		{"no resourceType", "POST", "Patient", `{"name":[{"family":"X"}]}`, outcome.Incorrect},
		{"not a resource type", "POST", "Patient", `{"resourceType":"Patientx"}`, outcome.Incorrect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.eng.Bundle(f.ctx, &interaction.BundleRequest{Sandbox: sb, Body: []byte(oneEntry(tt.method, tt.url, tt.resource)), Validated: true})
			if got := category(err); got != tt.want {
				t.Fatalf("got %v (%s), want %s", err, got, tt.want)
			}
			if n := f.count("Patient", "_count=1") + f.count("Observation", "_count=1"); n != 0 {
				t.Errorf("%d resources written", n)
			}
		})
	}
	t.Run("enforced profile", func(t *testing.T) {
		f := enforcing(t, interaction.Enforcement{Required: map[string][]string{"Patient": {birthProfile}}})
		f.put(bornProfile("1"))
		_, err := f.eng.Bundle(f.ctx, &interaction.BundleRequest{Sandbox: sb, Body: []byte(oneEntry("POST", "Patient", unborn)), Validated: true})
		f.refused(err, "Patient", "Patient.birthDate")
	})
}

// The Bundle's own structure is still read: Validated does not make a
// batch of a transaction's rules or take an entry without a request.
func TestBundle_Validated_StillReadsTheBundle(t *testing.T) {
	f := newFixture(t)
	noRequest := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"}}]}`
	if _, err := f.eng.Bundle(f.ctx, &interaction.BundleRequest{Sandbox: sb, Body: []byte(noRequest), Validated: true}); category(err) != outcome.Incorrect {
		t.Errorf("an entry without request: %v", err)
	}
	wrongType := strings.Replace(oneEntry("POST", "Patient", `{"resourceType":"Patient"}`), `"transaction"`, `"collection"`, 1)
	if _, err := f.eng.Bundle(f.ctx, &interaction.BundleRequest{Sandbox: sb, Body: []byte(wrongType), Validated: true}); category(err) != outcome.Incorrect {
		t.Errorf("a collection: %v", err)
	}
}
