package profile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzValidate: no resource, however malformed, makes validation panic.
func FuzzValidate(f *testing.F) {
	for _, pattern := range []string{"testdata/resources/*.json", "testdata/golden/*.json", "testdata/validator-cases/*.json"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if raw, err := os.ReadFile(file); err == nil && len(raw) < 64<<10 {
				f.Add(raw)
			}
		}
	}
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","contained":[{"resourceType":"Patient"}]}}]}`))
	d := testDefinitions(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		issues := d.Validate(raw, Options{Profiles: []string{"http://hl7.org/fhir/StructureDefinition/bp"}})
		for _, is := range issues {
			if is.Severity == "" || is.Code == "" {
				t.Fatalf("an issue without severity or code: %+v", is)
			}
		}
	})
}

// FuzzSnapshot: no StructureDefinition, however malformed, makes snapshot
// generation or validation against it panic.
func FuzzSnapshot(f *testing.F) {
	files, _ := filepath.Glob("testdata/profiles/*.json")
	for _, pattern := range []string{"testdata/validator-cases/*profile*.json", "testdata/validator-cases/*-sd.json"} {
		more, _ := filepath.Glob(pattern)
		files = append(files, more...)
	}
	for _, file := range files {
		if raw, err := os.ReadFile(file); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"resourceType":"StructureDefinition","url":"http://x/sd","type":"Patient","baseDefinition":"http://x/sd","differential":{"element":[{"id":"Patient.name:a/b.given","path":"Patient.name.given"}]}}`))
	patient := []byte(`{"resourceType":"Patient","name":[{"given":["A"]}],"extension":[{"url":"http://x/e","valueString":"v"}]}`)
	f.Fuzz(func(t *testing.T, raw []byte) {
		d := New()
		if err := d.Add(raw); err != nil {
			return
		}
		for url := range d.sds {
			sd := d.StructureDefinition(url)
			if sd == nil {
				continue
			}
			_, _ = d.Snapshot(sd)
			d.Validate(patient, Options{Profiles: []string{url}})
		}
	})
}

// FuzzFromXML: no XML document makes the conversion panic, and what it
// returns is JSON.
func FuzzFromXML(f *testing.F) {
	files, _ := filepath.Glob("testdata/xml/*.xml")
	for _, file := range files {
		if raw, err := os.ReadFile(file); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(`<Patient xmlns="http://hl7.org/fhir"><contained><Patient><id value="x"/></Patient></contained><name><given value="A"/><given value="B"><extension url="u"><valueString value="v"/></extension></given></name></Patient>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := Core().FromXML(raw)
		if err == nil && !json.Valid(out) {
			t.Fatalf("not JSON: %s", out)
		}
	})
}
