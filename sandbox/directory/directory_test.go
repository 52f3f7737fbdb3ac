package directory

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

func TestParsePatient_NameIsTheOfficialElseTheFirst(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"given and family", `{"name":[{"family":"Nordmann","given":["Kari","Anne"]}]}`, "Kari Anne Nordmann"},
		{"official wins", `{"name":[{"use":"nickname","given":["Kiki"]},{"use":"official","family":"Nordmann","given":["Kari"]}]}`, "Kari Nordmann"},
		{"first without official", `{"name":[{"use":"usual","given":["Kari"]},{"use":"old","family":"Hansen"}]}`, "Kari"},
		{"text wins over parts", `{"name":[{"text":"Kari N.","family":"Nordmann"}]}`, "Kari N."},
		{"family only", `{"name":[{"family":"Nordmann"}]}`, "Nordmann"},
		{"no name", `{}`, "(no name)"},
		{"empty name", `{"name":[{"use":"official"}]}`, "(no name)"},
		{"not JSON", `{`, "(no name)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParsePatient([]byte(tt.body)).Name; got != tt.want {
				t.Errorf("name %q, want %q", got, tt.want)
			}
		})
	}
	p := ParsePatient([]byte(`{"id":"p1","birthDate":"1980-02-03","gender":"female","identifier":[
		{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13028012345"},{"system":"urn:example","value":"x"}]}`))
	want := Patient{ID: "p1", Name: "(no name)", BirthDate: "1980-02-03", Gender: "female", Identifiers: []Identifier{
		{System: "urn:oid:2.16.578.1.12.4.1.4.1", Label: "Fødselsnummer", Value: "13028012345"}, {System: "urn:example", Value: "x"}}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("patient %+v, want %+v", p, want)
	}
}

func TestParseEncounter_DescriptionAndPeriod(t *testing.T) {
	tests := []struct{ name, body, desc, period string }{
		{"type text", `{"class":{"code":"AMB"},"type":[{"text":"Diabetes follow-up"}],"period":{"start":"2024-03-01T10:00:00Z","end":"2024-03-01T11:00:00Z"}}`, "Diabetes follow-up", "2024-03-01"},
		{"type coding display", `{"class":{"code":"AMB"},"type":[{"coding":[{"display":"Home visit"}]}],"period":{"start":"2024-03-01"}}`, "Home visit", "2024-03-01"},
		{"class display", `{"class":{"code":"IMP","display":"inpatient encounter"},"period":{"start":"2024-03-01T10:00:00Z","end":"2024-03-04T09:00:00Z"}}`, "inpatient encounter", "2024-03-01 – 2024-03-04"},
		{"class code", `{"class":{"code":"EMER"}}`, "EMER", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ParseEncounter([]byte(tt.body))
			if e.Description() != tt.desc || e.Period() != tt.period {
				t.Errorf("%q %q, want %q %q", e.Description(), e.Period(), tt.desc, tt.period)
			}
		})
	}
}

func TestDirectory_SearchesOneSandboxByNameOrIdentifierInNameOrder(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	put := func(sandbox, body string) {
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.Update(ctx, fhirstore.Sandbox(sandbox), r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Nordmann","given":["Kari"]}],"identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13028012345"}]}`,
		`{"resourceType":"Patient","id":"p2","name":[{"family":"Hansen","given":["Ola"]}]}`,
		`{"resourceType":"Patient","id":"p3","name":[{"family":"Nordmann","given":["Anne"]}]}`,
		`{"resourceType":"Practitioner","id":"dr","name":[{"family":"Lege","given":["Liv"]}]}`,
		`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"},"period":{"start":"2024-01-01","end":"2024-01-02"}}`,
		`{"resourceType":"Encounter","id":"e2","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p1"},"period":{"start":"2025-01-01","end":"2025-01-01"}}`,
		`{"resourceType":"Encounter","id":"e3","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p2"},"period":{"start":"2025-06-01"}}`,
	} {
		put("sb", b)
	}
	put("other", `{"resourceType":"Patient","id":"p9","name":[{"family":"Nordmann","given":["Bjørn"]}]}`)
	d := Directory{Store: store}
	ids := func(ps []Patient) (out []string) {
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	for _, tt := range []struct {
		text string
		want []string
	}{{"", []string{"p2", "p3", "p1"}}, {"nordmann", []string{"p3", "p1"}}, {"13028012345", []string{"p1"}}, {"nobody", nil}} {
		pg, err := d.Patients(ctx, "sb", tt.text, "", 10)
		if err != nil || !reflect.DeepEqual(ids(pg.Patients), tt.want) || pg.Total != len(tt.want) {
			t.Errorf("Patients(%q) = %v total %d (%v), want %v", tt.text, ids(pg.Patients), pg.Total, err, tt.want)
		}
	}
	first, err := d.Patients(ctx, "sb", "", "", 2)
	if err != nil || first.Next == "" {
		t.Fatalf("first page %v %v", first, err)
	}
	second, err := d.Patients(ctx, "sb", "", first.Next, 2)
	if err != nil || !reflect.DeepEqual(ids(second.Patients), []string{"p1"}) {
		t.Errorf("second page %v %v", ids(second.Patients), err)
	}
	if _, err := d.Patient(ctx, "sb", "p9"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("another sandbox's patient: %v, want ErrNotFound", err)
	}
	if _, err := store.Delete(ctx, "sb", "Patient", "p3"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Patient(ctx, "sb", "p3"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("deleted patient: %v, want ErrNotFound", err)
	}
	encs, err := d.Encounters(ctx, "sb", "p1", 10)
	if err != nil || len(encs) != 2 || encs[0].ID != "e2" || encs[1].ID != "e1" || encs[0].Subject != "Patient/p1" {
		t.Errorf("encounters %+v %v, want e2, e1 (newest first)", encs, err)
	}
	pracs, err := d.Practitioners(ctx, "sb", 10)
	if err != nil || !reflect.DeepEqual(pracs, []Practitioner{{ID: "dr", Name: "Liv Lege"}}) {
		t.Errorf("practitioners %+v %v", pracs, err)
	}
}
