package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

func bloodPressure(t *testing.T, systolic string) *fhirjson.Resource {
	t.Helper()
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Observation","id":"bp","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
		"component":[
		 {"code":{"coding":[{"system":"http://loinc.org","code":"` + systolic + `"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}},
		 {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"code":"mm[Hg]"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// An update deletes the old version's index rows even when they carry other
// composite group numbers than extraction gives now, as rows written by an
// earlier release may.
func TestUpdate_DropsOldIndexRowsWhateverTheirGroup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Update(ctx, sb, bloodPressure(t, "8480-6"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() (n int) {
		t.Helper()
		err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM idx_token WHERE grp > 0) + (SELECT COUNT(*) FROM idx_quantity WHERE grp > 0)`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	if before == 0 {
		t.Fatal("no composite rows written")
	}
	for _, table := range []string{"idx_token", "idx_quantity"} {
		if _, err := db.Exec(`UPDATE ` + table + ` SET grp = grp + 10 WHERE grp > 0`); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Update(ctx, sb, bloodPressure(t, "8480-7"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var stale int
	if err := db.QueryRow(`SELECT COUNT(*) FROM idx_token WHERE code = '8480-6' OR grp > 10`).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale != 0 || count() != before {
		t.Errorf("after the update: %d stale token rows, %d composite rows (want 0 and %d)", stale, count(), before)
	}
}
