package interaction_test

import (
	"strings"
	"testing"

	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
)

func metaParams(meta string) string {
	return `{"resourceType":"Parameters","parameter":[{"name":"meta","valueMeta":` + meta + `}]}`
}

func (f *fixture) meta(op, id, version, body string) (string, error) {
	out, err := f.eng.Meta(f.ctx, &interaction.MetaRequest{Sandbox: sb, Type: "Patient", ID: id, Version: version, Operation: op, Body: []byte(body)})
	return string(out), err
}

func TestMeta_AddAndDeleteInPlaceWithoutNewVersion(t *testing.T) {
	f := newFixture(t)
	f.put(patientP1)
	f.put(patientP1)
	add := metaParams(`{"profile":["http://hl7.no/fhir/StructureDefinition/no-basis-Patient"],` +
		`"tag":[{"system":"urn:sandbox","code":"test-a"},{"system":"urn:sandbox","code":"test-b"}]}`)
	out, err := f.meta("$meta-add", "p1", "", add)
	if err != nil || !strings.Contains(out, `"name":"return"`) || !strings.Contains(out, "test-b") {
		t.Errorf("$meta-add: %v %s", err, out)
	}
	// Adding again does not duplicate.
	if _, err := f.meta("$meta-add", "p1", "", add); err != nil {
		t.Fatal(err)
	}
	if v, err := f.read("Patient", "p1"); err != nil || v.Version != 2 || strings.Count(string(v.Body), "test-a") != 1 {
		t.Errorf("after $meta-add: %v %+v", err, v)
	}
	if n := f.count("Patient", "_tag=urn:sandbox|test-a"); n != 1 {
		t.Errorf("_tag search finds %d after $meta-add, want 1", n)
	}
	if _, err := f.meta("$meta-delete", "p1", "", metaParams(`{"tag":[{"system":"urn:sandbox","code":"test-a"}]}`)); err != nil {
		t.Fatal(err)
	}
	out, err = f.meta("$meta", "p1", "", "")
	if err != nil || strings.Contains(out, "test-a") || !strings.Contains(out, "test-b") || !strings.Contains(out, "no-basis-Patient") {
		t.Errorf("$meta after delete: %v %s", err, out)
	}
	if n := f.count("Patient", "_tag=urn:sandbox|test-a"); n != 0 {
		t.Errorf("_tag search finds %d after $meta-delete, want 0", n)
	}
	// A historical version changes in place too.
	if _, err := f.meta("$meta-add", "p1", "1", metaParams(`{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]}`)); err != nil {
		t.Fatal(err)
	}
	if out, err := f.meta("$meta", "p1", "1", ""); err != nil || !strings.Contains(out, `"code":"R"`) {
		t.Errorf("version 1: %v %s", err, out)
	}
	if n := f.versions(); n != 2 {
		t.Errorf("meta operations made versions: %d", n)
	}
}

func TestMeta_Refusals(t *testing.T) {
	f := newFixture(t)
	f.put(patientP1)
	f.put(`{"resourceType":"Patient","id":"b"}`)
	for name, tc := range map[string]struct {
		op, id, version, body string
		want                  outcome.Category
	}{
		"not Parameters":   {"$meta-add", "p1", "", patientP1, outcome.Incorrect},
		"not JSON":         {"$meta-add", "p1", "", "{", outcome.Incorrect},
		"invalid coding":   {"$meta-add", "p1", "", metaParams(`{"tag":[{"system":"urn:x","code":"a b","userSelected":"yes"}]}`), outcome.Incorrect},
		"unknown resource": {"$meta-add", "nope", "", metaParams(`{"tag":[{"code":"a"}]}`), outcome.Missing},
		"unknown version":  {"$meta", "p1", "9", "", outcome.Missing},
		"bad version":      {"$meta", "p1", "x", "", outcome.Incorrect},
	} {
		if _, err := f.meta(tc.op, tc.id, tc.version, tc.body); category(err) != tc.want {
			t.Errorf("%s: %v, want %s", name, err, tc.want)
		}
	}
	f.ctx = search.ConfineTo(f.ctx, &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "p1"}})
	if _, err := f.meta("$meta-add", "b", "", metaParams(`{"tag":[{"code":"a"}]}`)); category(err) != outcome.Denied {
		t.Errorf("$meta-add outside the confinement: %v", err)
	}
	if _, err := f.meta("$meta-add", "p1", "", metaParams(`{"tag":[{"code":"mine"}]}`)); err != nil {
		t.Errorf("$meta-add inside the confinement: %v", err)
	}
	if v, err := f.read("Patient", "b"); err != nil || strings.Contains(string(v.Body), `"tag"`) {
		t.Errorf("a refused meta operation wrote: %v %s", err, v.Body)
	}
}
