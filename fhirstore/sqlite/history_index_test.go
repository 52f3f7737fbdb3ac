package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// A data directory written before past versions kept their index facts
// gets them when it is opened: the same rows as archiving the versions
// writes, deletions keeping none.
func TestOpen_FillsHistoryIndexOfAStoreWrittenBeforeIt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	obs := func(id, patient, category string) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final",
			"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"` + category + `"}]}],
			"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
			"subject":{"reference":"` + patient + `"},"performer":[{"reference":"Practitioner/dr"}]}`
	}
	for _, body := range []string{
		obs("o1", "Patient/a", "vital-signs"), obs("o1", "Patient/b", "laboratory"), obs("o1", "Patient/b", "vital-signs"),
		obs("o2", "Patient/a", "vital-signs"), obs("o2", "http://elsewhere.test/fhir/Patient/a", "vital-signs"),
		`{"resourceType":"Patient","id":"a","name":[{"family":"A"}]}`, `{"resourceType":"Patient","id":"a","name":[{"family":"B"}]}`,
	} {
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, "default", r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Delete(ctx, "default", "Observation", "o2"); err != nil {
		t.Fatal(err)
	}
	r, _ := fhirjson.Parse([]byte(obs("o2", "Patient/a", "laboratory")))
	if _, _, err := s.Update(ctx, "default", r, fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dump := func() string {
		t.Helper()
		var b strings.Builder
		for _, q := range []string{
			`SELECT sandbox, type, id, version, param, target_type || ' ' || target_id || ' ' || url FROM history_reference ORDER BY 1, 2, 3, 4, 5, 6`,
			`SELECT sandbox, type, id, version, param, system || '|' || code FROM history_token ORDER BY 1, 2, 3, 4, 5, 6`,
		} {
			rows, err := db.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var sandbox, typ, id, param, value string
				var version int64
				if err := rows.Scan(&sandbox, &typ, &id, &version, &param, &value); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintln(&b, sandbox, typ, id, version, param, value)
			}
			rows.Close()
		}
		return b.String()
	}
	written := dump()
	for _, want := range []string{
		"default Observation o1 1 subject Patient a \n",
		"default Observation o1 2 subject Patient b \n",
		"default Observation o2 2 subject Patient a http://elsewhere.test/fhir/Patient/a\n",
		"default Observation o1 1 category http://terminology.hl7.org/CodeSystem/observation-category|vital-signs\n",
	} {
		if !strings.Contains(written, want) {
			t.Fatalf("archived facts lack %q:\n%s", want, written)
		}
	}
	if strings.Contains(written, "Practitioner") || strings.Contains(written, "o2 3 ") {
		t.Fatalf("archived facts hold a reference to a Practitioner or a deletion's facts:\n%s", written)
	}
	if _, err := db.Exec(`DROP TABLE history_reference; DROP TABLE history_token; DELETE FROM schema_version WHERE version >= 4`); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if filled := dump(); filled != written {
		t.Errorf("history facts filled on open:\n%s\nwant, as archived:\n%s", filled, written)
	}
	// And the filled facts judge past versions.
	confined := search.ConfineTo(ctx, &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "b"}})
	page, err := s.History(confined, "default", fhirstore.HistoryQuery{Type: "Observation", ID: "o1", Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, v := range page.Versions {
		got = append(got, v.Version)
	}
	if fmt.Sprint(got) != "[3 2]" || page.Total != 2 {
		t.Errorf("Patient/b's history of o1 after the fill: versions %v, total %d; want [3 2], 2", got, page.Total)
	}
}
