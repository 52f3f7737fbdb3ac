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

// The SQL that PostgreSQL reads differently from SQLite, at its edges:
//
//   - :above compares substr(<parameter>, 1, length(value)) with the
//     value. The parameter's type is inferred (text, not bytea: substr has
//     both), and substr and length count characters on both engines, so a
//     stored URI with letters beyond ASCII is above exactly the URIs that
//     start with it.
//   - :below and the default string search are a range from the value to
//     the value followed by U+10FFFF, which holds only where text compares
//     by bytes (COLLATE "C"): values with characters beyond the Basic
//     Multilingual Plane, or that a linguistic collation would sort after
//     U+10FFFF, fall inside it.
//
// Each runs in the test database, and again in one whose default
// collation is Norwegian (ICU) when the server has ICU.
func TestPostgres_SubstrAndStartsWithBoundAtTheirEdges(t *testing.T) {
	dsn := testpg.Start(t)
	t.Run("DefaultCollation", func(t *testing.T) { checkEdges(t, dsn) })
	t.Run("NorwegianCollation", func(t *testing.T) {
		nb, ok := norwegianDatabase(t, dsn)
		if !ok {
			t.Skip("this PostgreSQL has no ICU collations")
		}
		checkEdges(t, nb)
	})
}

func checkEdges(t *testing.T, dsn string) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const sd = "http://example.org/fhir/StructureDefinition/"
	for _, body := range []string{
		`{"resourceType":"Patient","id":"oe","meta":{"profile":["` + sd + `pasient-ø"]},"name":[{"family":"Nord😀"}]}`,
		`{"resourceType":"Patient","id":"o","meta":{"profile":["` + sd + `pasient-o"]},"name":[{"family":"Nord\uFFFD"}]}`,
		`{"resourceType":"Patient","id":"emoji","meta":{"profile":["` + sd + `pasient-😀"]},"name":[{"family":"Nordzzz"}]}`,
		`{"resourceType":"Patient","id":"short","meta":{"profile":["` + sd + `q"]},"name":[{"family":"Nor"}]}`,
		`{"resourceType":"Patient","id":"other","meta":{"profile":["http://other.example/fhir"]},"name":[{"family":"Mord"}]}`,
	} {
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, "default", r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ query, want string }{
		{"_profile:above=" + sd + "pasient-ø/v1", "oe"},
		{"_profile:above=" + sd + "pasient-øy", "oe"},
		{"_profile:above=" + sd + "pasient-😀", "emoji"},
		{"_profile:above=" + sd + "pasient-o", "o"},
		{"_profile:above=" + sd + "q", "short"},
		{"_profile:above=" + sd + "pasient", ""},
		{"_profile:above=" + sd, ""},
		{"_profile:below=" + sd + "pasient-", "emoji,o,oe"},
		{"_profile:below=" + sd, "emoji,o,oe,short"},
		{"_profile:below=" + sd + "pasient-😀", "emoji"},
		{"family=nord", "emoji,o,oe"},
		{"family=nord😀", "oe"},
		{"family=nor", "emoji,o,oe,short"},
	} {
		v, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		v.Set("_sort", "_id")
		q, err := search.Parse("Patient", v, search.Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		page, err := s.Search(ctx, "default", fhirstore.SearchQuery{Query: q})
		if err != nil {
			t.Fatalf("Patient?%s: %v", tc.query, err)
		}
		var got []string
		for _, m := range page.Matches {
			got = append(got, m.ID)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("Patient?%s = %v, want %s", tc.query, got, tc.want)
		}
	}
}

// norwegianDatabase makes a database beside dsn's whose default collation
// is Norwegian by ICU, dropped when t ends; false when the server cannot.
func norwegianDatabase(t *testing.T, dsn string) (string, bool) {
	ctx := context.Background()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var db string
	if err := admin.QueryRowContext(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	nb := db + "_edges_nb"
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+nb+` TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'nb-NO' LOCALE 'C'`); err != nil {
		return "", false
	}
	t.Cleanup(func() { admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+nb+` WITH (FORCE)`) })
	return strings.Replace(dsn, "/"+db+"?", "/"+nb+"?", 1), true
}
