package main

import (
	"testing"

	"hpsandbox/internal/testpg"
)

// With --store (HPS_STORE) naming a PostgreSQL database, the FHIR data
// lives there, not in the data directory: a gateway started on another,
// empty data directory serves what the first one seeded.
func TestServe_StoreOnPostgres_KeepsTheDataInTheDatabase(t *testing.T) {
	dsn := testpg.Start(t)
	addr, stop := startServe(t, map[string]string{"HPS_DATA": t.TempDir(), "HPS_STORE": dsn}, "--seed-patients", "5")
	if n := total(t, "http://"+addr+"/fhir/Patient"); n != 15 {
		t.Errorf("patients after first start: %d, want 10 personas + 5", n)
	}
	stop()
	addr, stop = startServe(t, map[string]string{"HPS_DATA": t.TempDir()}, "--store", dsn, "--seed-patients", "50")
	defer stop()
	if n := total(t, "http://"+addr+"/fhir/Patient"); n != 15 {
		t.Errorf("patients seen by a gateway on another data directory: %d, want 15 (no reseed)", n)
	}
}
