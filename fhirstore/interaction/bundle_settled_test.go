package interaction

import (
	"strings"
	"testing"
)

// A transaction's entry whose references all name entries with known
// targets is settled by its provisional rewrite; one that refers to a
// conditional entry or holds a conditional reference is rewritten again
// in the store transaction.
func TestProvisionalBodies_SettledOnlyWithoutStandIns(t *testing.T) {
	const (
		pat  = "urn:uuid:00000000-0000-4000-8000-000000000001"
		put  = "urn:uuid:00000000-0000-4000-8000-000000000002"
		cond = "urn:uuid:00000000-0000-4000-8000-000000000003"
		cput = "urn:uuid:00000000-0000-4000-8000-000000000004"
	)
	obs := func(ref string) []byte {
		return []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"` + ref + `"}}`)
	}
	entries := []*entry{
		{method: "POST", typ: "Patient", fullURL: pat, body: []byte(`{"resourceType":"Patient"}`)},
		{method: "PUT", typ: "Patient", id: "p2", fullURL: put, body: []byte(`{"resourceType":"Patient","id":"p2"}`)},
		{method: "POST", typ: "Patient", fullURL: cond, ifNoneExist: "identifier=x|1", body: []byte(`{"resourceType":"Patient"}`)},
		{method: "PUT", typ: "Patient", fullURL: cput, criteria: "identifier=x|2", body: []byte(`{"resourceType":"Patient"}`)},
	}
	tests := []struct {
		name    string
		body    []byte
		settled bool
		want    string // the provisional reference
	}{
		{"to a created entry", obs(pat), true, "Patient/"},
		{"to an updated entry", obs(put), true, "Patient/p2"},
		{"to a stored resource", obs("Patient/stored"), true, "Patient/stored"},
		{"to a conditional create", obs(cond), false, "Patient/0"},
		{"to a conditional update", obs(cput), false, "Patient/0"},
		{"conditional reference", obs("Patient?identifier=x|3"), false, "Patient/0"},
	}
	for i, tt := range tests {
		entries = append(entries, &entry{index: 4 + i, method: "POST", typ: "Observation", body: tt.body})
	}
	if _, err := provisionalBodies(entries); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		e := entries[4+i]
		if e.settled != tt.settled {
			t.Errorf("%s: settled %v, want %v", tt.name, e.settled, tt.settled)
		}
		if !strings.Contains(string(e.body), `"reference":"`+tt.want) {
			t.Errorf("%s: provisional body %s", tt.name, e.body)
		}
	}
	if pat := entries[4]; !strings.Contains(string(pat.body), `"Patient/`+entries[0].newID+`"`) {
		t.Errorf("reference to the created Patient: %s, its id %q", pat.body, entries[0].newID)
	}
}
