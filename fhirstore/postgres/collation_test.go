package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/postgres"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/internal/testpg"
)

// Text compares by bytes, as in SQLite, even in a database whose default
// collation is linguistic (Norwegian, by ICU): sorts page in one order on
// either engine, and the starts-with ranges of string search hold.
func TestPostgres_TextComparesBytesWhateverTheDatabaseCollation(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.Start(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var db string
	if err := admin.QueryRowContext(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	nb := db + "_nb"
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+nb+` TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'nb-NO' LOCALE 'C'`); err != nil {
		t.Skipf("this PostgreSQL has no ICU collations: %v", err)
	}
	t.Cleanup(func() { admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+nb+` WITH (FORCE)`) })
	var order string
	if err := admin.QueryRowContext(ctx, `SELECT string_agg(c, ',' ORDER BY c COLLATE "nb-NO-x-icu") FROM (VALUES ('a'), ('B')) v(c)`).Scan(&order); err != nil || order != "a,B" {
		t.Skipf("the nb-NO collation does not order as expected here (%q, %v)", order, err)
	}
	s, err := postgres.Open(ctx, strings.Replace(dsn, "/"+db+"?", "/"+nb+"?", 1), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, body := range []string{
		`{"resourceType":"Observation","id":"lower","status":"final","code":{"coding":[{"system":"urn:x","code":"a"}]}}`,
		`{"resourceType":"Observation","id":"upper","status":"final","code":{"coding":[{"system":"urn:x","code":"B"}]}}`,
		`{"resourceType":"Observation","id":"ring","status":"final","code":{"coding":[{"system":"urn:x","code":"Å"}]}}`,
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Nordmann"}]}`,
		`{"resourceType":"Patient","id":"p2","name":[{"family":"Nord-Aas"}]}`,
		`{"resourceType":"Patient","id":"p3","name":[{"family":"Norum"}]}`,
	} {
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, "default", r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ typ, query, want string }{
		// Bytes: B (0x42) < a (0x61) < Å (0xC3 0x85); Norwegian: a, B, Å.
		{"Observation", "_sort=code", "upper,lower,ring"},
		{"Observation", "_sort=-code", "ring,lower,upper"},
		{"Patient", "family=nord", "p1,p2"},
		{"Patient", "family=nord&_sort=family", "p2,p1"},
	} {
		v, _ := url.ParseQuery(tc.query)
		q, err := search.Parse(tc.typ, v, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.Search(ctx, "default", fhirstore.SearchQuery{Query: q})
		if err != nil {
			t.Fatalf("%s?%s: %v", tc.typ, tc.query, err)
		}
		var got []string
		for _, m := range page.Matches {
			got = append(got, m.ID)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%s?%s = %v, want %s", tc.typ, tc.query, got, tc.want)
		}
	}
}
