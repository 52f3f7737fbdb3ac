package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
)

func TestSQLite_PassesStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) fhirstore.Store {
		// The suite's largest searches take a fifth of a second, but some
		// thirty times that under the race detector, past the default budget
		// (which sqlstore's own test covers).
		s, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{Now: now, SearchTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpen_ReopensExistingData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Update(ctx, "default", storetest.Patient(t, "p1", "A"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if r, err := s.Read(ctx, "default", "Patient", "p1"); err != nil || r.Version != 1 {
		t.Fatalf("after reopen: %+v %v", r, err)
	}
}

// A data directory written before the sort keys existed gets them when it
// is opened: the same rows as writing the resources gives.
// writtenStore writes bodies into the default sandbox of a new SQLite
// store, closes it and opens its file as a plain database, for a test to
// rewind it to an earlier schema; it returns the data directory and the
// database, closed when the test ends.
func writtenStore(t *testing.T, bodies ...string) (string, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range bodies {
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, "default", r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dir, db
}

// observationIDs searches the default sandbox's Observations by query and
// returns the ids of the first page, space-separated, in order.
func observationIDs(t *testing.T, s *sqlstore.Store, query string) string {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	q, err := search.Parse("Observation", v, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Search(context.Background(), "default", fhirstore.SearchQuery{Query: q})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Matches {
		got = append(got, r.ID)
	}
	return strings.Join(got, " ")
}

func TestOpen_FillsSortKeysOfAStoreWrittenBeforeThem(t *testing.T) {
	ctx := context.Background()
	dir, db := writtenStore(t,
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Nordmann","given":["Kari","Ane"]},{"family":"Aas"}],"birthDate":"1980-02",
			"identifier":[{"system":"urn:a","value":"2"},{"system":"urn:b","value":"1"}],"managingOrganization":{"reference":"Organization/o1"}}`,
		`{"resourceType":"Patient","id":"p2","name":[{"family":"Berg"}],"meta":{"profile":["http://example.org/p"]}}`,
		`{"resourceType":"Observation","id":"ob1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"},{"system":"urn:x","code":"bp"}]},
			"subject":{"reference":"Patient/p1"},"effectivePeriod":{"start":"2013-01-10","end":"2013-01-12"},
			"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}}]}`,
		`{"resourceType":"Observation","id":"ob2","status":"final","code":{"text":"x"},"effectiveDateTime":"2014-05-01T10:00:00Z",
			"valueQuantity":{"value":5.4,"system":"http://unitsofmeasure.org","code":"mg"}}`,
		`{"resourceType":"RiskAssessment","id":"r1","status":"final","subject":{"reference":"Patient/p2"},"prediction":[{"probabilityDecimal":0.3},{"probabilityRange":{"low":{"value":0.1},"high":{"value":0.5}}}]}`,
	)
	dump := func() string {
		t.Helper()
		rows, err := db.Query(`SELECT sandbox, rid, type, param, grp, comp, quote(lo), quote(hi) FROM idx_sort ORDER BY rid, param`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var sandbox, typ, param, lo, hi string
			var rid, grp, comp int64
			if err := rows.Scan(&sandbox, &rid, &typ, &param, &grp, &comp, &lo, &hi); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, sandbox, rid, typ, param, grp, comp, lo, hi)
		}
		return b.String()
	}
	written := dump()
	if !strings.Contains(written, "Observation date 0 0 1357776000000 1358035200000") {
		t.Fatalf("unexpected sort rows as written:\n%s", written)
	}
	// Before the sort keys, nor were there the later migrations.
	if _, err := db.Exec(`DROP TABLE idx_sort; DROP TABLE history_reference; DROP TABLE history_token;
		DELETE FROM schema_version WHERE version >= 3`); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if filled := dump(); filled != written {
		t.Errorf("sort rows filled on open:\n%s\nwant, as written:\n%s", filled, written)
	}
}

// References and URIs keep no sort keys in idx_sort (a sort reads their
// own tables), nor do tokens;
// a store written when they did loses them on open, and sorts by them as
// before.
func TestOpen_DropsReferenceAndURISortKeysOfAStoreWrittenWithThem(t *testing.T) {
	ctx := context.Background()
	dir, db := writtenStore(t,
		`{"resourceType":"Observation","id":"ob1","meta":{"profile":["http://example.org/p"]},"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"},"effectiveDateTime":"2013-01-10"}`,
		`{"resourceType":"Observation","id":"ob2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2014-05-01"}`,
	)
	params := func() string {
		t.Helper()
		var got sql.NullString
		if err := db.QueryRow(`SELECT group_concat(param, ' ') FROM (SELECT DISTINCT param FROM idx_sort ORDER BY param)`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got.String
	}
	if got := params(); got != "date" {
		t.Fatalf("sort keys as written: %q, want those of date", got)
	}
	// As the release before wrote them: the references' and URIs' keys too.
	if _, err := db.Exec(`INSERT INTO idx_sort (sandbox, rid, type, param, grp, comp, lo, hi)
			SELECT sandbox, rid, type, param, 0, 0, MIN(target_id), MAX(target_id) FROM idx_reference GROUP BY rid, param;
		INSERT INTO idx_sort (sandbox, rid, type, param, grp, comp, lo, hi)
			SELECT sandbox, rid, type, param, 0, 0, MIN(value), MAX(value) FROM idx_uri GROUP BY rid, param;
		DROP INDEX idx_reference_sort; DROP INDEX idx_uri_rid; DELETE FROM schema_version WHERE version >= 6`); err != nil {
		t.Fatal(err)
	}
	if got := params(); got != "_profile date subject" {
		t.Fatalf("sort keys of the earlier release: %q", got)
	}
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got := params(); got != "date" {
		t.Errorf("sort keys after the migration: %q, want those of date", got)
	}
	for sort, want := range map[string]string{"subject": "ob2 ob1", "-subject": "ob1 ob2"} {
		if got := observationIDs(t, s, "_sort="+sort); got != want {
			t.Errorf("_sort=%s after the migration: %s, want %s", sort, got, want)
		}
	}
}

// Tokens keep no sort keys in idx_sort: a sort by one reads idx_token,
// whose key puts rid after the code. A store written by the release before
// (idx_token keyed by code and system, the tokens' sort keys in idx_sort)
// is rekeyed on open, loses them, and sorts and searches as before.
func TestOpen_RekeysTokensAndDropsTheirSortKeys(t *testing.T) {
	ctx := context.Background()
	dir, db := writtenStore(t,
		`{"resourceType":"Observation","id":"ob1","status":"final","code":{"coding":[{"system":"urn:a","code":"b"},{"system":"urn:b","code":"d"}]}}`,
		`{"resourceType":"Observation","id":"ob2","status":"amended","code":{"coding":[{"system":"urn:b","code":"c"}]}}`,
		`{"resourceType":"Observation","id":"ob3","status":"final","code":{"coding":[{"system":"urn:b","code":"a"},{"system":"urn:a","code":"e"}]}}`,
	)
	query := func(q string) string {
		t.Helper()
		var got sql.NullString
		if err := db.QueryRow(q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got.String
	}
	const sortParams = `SELECT group_concat(param, ' ') FROM (SELECT DISTINCT param FROM idx_sort ORDER BY param)`
	const tableSQL = `SELECT sql FROM sqlite_master WHERE name = 'idx_token'`
	if got := query(sortParams); got != "" {
		t.Fatalf("sort keys as written: %q, want none", got)
	}
	if got := query(tableSQL); !strings.Contains(got, "code, rid, system") {
		t.Fatalf("idx_token as written: %s", got)
	}
	tokens := query(`SELECT group_concat(r, ' ') FROM (SELECT rid || param || code || system AS r FROM idx_token ORDER BY 1)`)
	// As the release before wrote them.
	if _, err := db.Exec(`CREATE TABLE idx_token_old (sandbox TEXT, rid BIGINT, type TEXT, param TEXT, grp INTEGER, comp INTEGER,
			system TEXT, code TEXT, text TEXT, type_system TEXT, type_code TEXT,
			PRIMARY KEY (sandbox, type, param, code, system, rid, grp, comp, text, type_system, type_code)) WITHOUT ROWID;
		INSERT INTO idx_token_old SELECT * FROM idx_token; DROP TABLE idx_token; ALTER TABLE idx_token_old RENAME TO idx_token;
		INSERT INTO idx_sort (sandbox, rid, type, param, grp, comp, lo, hi)
			SELECT sandbox, rid, type, param, 0, 0, MIN(code), MAX(code) FROM idx_token GROUP BY rid, param;
		DELETE FROM schema_version WHERE version >= 7`); err != nil {
		t.Fatal(err)
	}
	if got := query(sortParams); got != "code status" {
		t.Fatalf("sort keys of the earlier release: %q", got)
	}
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got := query(sortParams); got != "" {
		t.Errorf("sort keys after the migration: %q, want none", got)
	}
	if got := query(tableSQL); !strings.Contains(got, "code, rid, system") {
		t.Errorf("idx_token after the migration: %s", got)
	}
	if got := query(`SELECT group_concat(r, ' ') FROM (SELECT rid || param || code || system AS r FROM idx_token ORDER BY 1)`); got != tokens {
		t.Errorf("token rows after the migration:\n%s\nwant, as written:\n%s", got, tokens)
	}
	for q, want := range map[string]string{"_sort=code": "ob3 ob1 ob2", "_sort=-code": "ob3 ob1 ob2",
		"_sort=status,-code": "ob2 ob3 ob1", "code=urn:a|b": "ob1", "code=c,e&_sort=-code": "ob3 ob2"} {
		if got := observationIDs(t, s, q); got != want {
			t.Errorf("Observation?%s after the migration: %s, want %s", q, got, want)
		}
	}
}
