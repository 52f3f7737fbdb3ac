package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate_ExitsWithErrorsAndPrintsTheRule(t *testing.T) {
	dir := t.TempDir()
	ig := filepath.Join(dir, "ig")
	if err := os.Mkdir(ig, 0o755); err != nil {
		t.Fatal(err)
	}
	sd := `{"resourceType":"StructureDefinition","url":"http://example.org/sd/named-patient","name":"NamedPatient","type":"Patient",
		"kind":"resource","derivation":"constraint","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient",
		"differential":{"element":[{"id":"Patient.name","path":"Patient.name","min":1}]}}`
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("ig/named-patient.json", sd)
	good := write("good.json", `{"resourceType":"Patient","name":[{"family":"Nordmann"}]}`)
	bad := write("bad.json", `{"resourceType":"Patient","gender":"male"}`)

	var out, errOut bytes.Buffer
	err := run([]string{"validate", "--ig", ig, "--profile", "http://example.org/sd/named-patient", good}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("good: %v\n%s%s", err, out.String(), errOut.String())
	}
	out.Reset()
	err = run([]string{"validate", "--ig", ig, "--profile", "http://example.org/sd/named-patient", good, bad}, nil, &out, &errOut)
	if !errors.Is(err, errInvalid) {
		t.Fatalf("bad: err = %v, want errInvalid\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "bad.json: 1 errors") || !strings.Contains(out.String(), "[cardinality]") {
		t.Errorf("the outcome does not name the broken rule:\n%s", out.String())
	}
}
