package profile

import (
	"sync"
	"testing"
)

func TestDefinitions_ChangedProfileIsRecompiled(t *testing.T) {
	d := New()
	profile := func(min string) []byte {
		return []byte(`{"resourceType":"StructureDefinition","url":"http://example.org/sd/p","name":"P","type":"Patient","kind":"resource",
			"derivation":"constraint","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient",
			"differential":{"element":[{"id":"Patient.birthDate","path":"Patient.birthDate","min":` + min + `}]}}`)
	}
	patient := []byte(`{"resourceType":"Patient","gender":"other"}`)
	opts := Options{Profiles: []string{"http://example.org/sd/p"}}
	if err := d.Add(profile("0")); err != nil {
		t.Fatal(err)
	}
	if issues := d.Validate(patient, opts); HasErrors(issues) {
		t.Fatalf("first version: %s", dump(issues))
	}
	if err := d.Add(profile("1")); err != nil {
		t.Fatal(err)
	}
	if issues := d.Validate(patient, opts); !HasErrors(issues) {
		t.Fatal("the changed profile was not used")
	}
}

func TestDefinitions_AddToCoreIsRefused(t *testing.T) {
	if err := Core().Add([]byte(`{"resourceType":"ValueSet","url":"http://x/vs"}`)); err == nil {
		t.Fatal("the shared core definitions accepted an addition")
	}
}

func TestDefinitions_UnknownProfileIsAnError(t *testing.T) {
	issues := New().Validate([]byte(`{"resourceType":"Patient"}`), Options{Profiles: []string{"http://example.org/none"}})
	if !HasErrors(issues) {
		t.Fatalf("an unknown requested profile passed: %s", dump(issues))
	}
}

// TestValidate_ConcurrentUse runs validations in parallel on one set, with
// definitions compiled on first use by whichever goroutine comes first
// (run with -race).
func TestValidate_ConcurrentUse(t *testing.T) {
	d := testDefinitions(t)
	docs := [][]byte{
		marshal(t, readResource(t, "observation-bp.json")),
		marshal(t, readResource(t, "observation-heartrate.json")),
		[]byte(`{"resourceType":"Patient","name":[{"family":"A"}],"contained":[{"resourceType":"Organization","id":"o"}],"managingOrganization":{"reference":"#o"}}`),
	}
	want := make([]string, len(docs))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range docs {
				j := (i + g) % len(docs)
				_ = d.Validate(docs[j], Options{})
			}
		}()
	}
	wg.Wait()
	for i, doc := range docs {
		want[i] = dump(d.Validate(doc, Options{}))
	}
	for i, doc := range docs {
		if got := dump(d.Validate(doc, Options{})); got != want[i] {
			t.Errorf("document %d: outcome changed:\n%s\n---\n%s", i, want[i], got)
		}
	}
}

func TestDefinitions_ValueSetReplacedAndRemoved(t *testing.T) {
	d := New()
	vs := func(code string) []byte {
		return []byte(`{"resourceType":"ValueSet","url":"http://example.org/vs/c","compose":{"include":[{"system":"http://example.org/cs","concept":[{"code":"` + code + `"}]}]}}`)
	}
	sd := []byte(`{"resourceType":"StructureDefinition","url":"http://example.org/sd/c","name":"C","type":"Observation","kind":"resource",
		"derivation":"constraint","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Observation",
		"differential":{"element":[{"id":"Observation.method","path":"Observation.method","binding":{"strength":"required","valueSet":"http://example.org/vs/c"}}]}}`)
	obs := []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"method":{"coding":[{"system":"http://example.org/cs","code":"b"}]}}`)
	opts := Options{Profiles: []string{"http://example.org/sd/c"}}
	for _, r := range [][]byte{sd, vs("a")} {
		if err := d.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if !HasErrors(d.Validate(obs, opts)) {
		t.Fatal("code b passed a value set of a")
	}
	if err := d.Add(vs("b")); err != nil {
		t.Fatal(err)
	}
	if issues := d.Validate(obs, opts); HasErrors(issues) {
		t.Fatalf("the replaced value set was not used: %s", dump(issues))
	}
	d.Remove("http://example.org/sd/c")
	if issues := d.Validate(obs, opts); !hasIssue(issues, want{"profile", "error", "Observation"}) {
		t.Fatalf("a removed profile was still applied: %s", dump(issues))
	}
}
