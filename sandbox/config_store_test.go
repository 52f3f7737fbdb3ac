package sandbox

import (
	"strings"
	"testing"
)

// --store takes a PostgreSQL URL or nothing; a bad one is refused without
// echoing the password it may hold.
func TestValidate_StoreIsAPostgresURLOrNothing(t *testing.T) {
	for _, tc := range []struct {
		store string
		ok    bool
	}{
		{"", true},
		{"postgres://sandbox@127.0.0.1:5432/fhir", true},
		{"postgresql://sandbox:pw@db.internal/fhir?sslmode=require", true},
		{"mysql://sandbox:secret@127.0.0.1/fhir", false},
		{"postgres://sandbox:secret@/fhir", false},
		{"./data/fhir.db", false},
	} {
		c := Defaults()
		c.Store = tc.store
		err := c.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(--store %q) = %v, want ok=%v", tc.store, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error for --store %q shows the password: %v", tc.store, err)
		}
	}
	c := Defaults()
	if err := c.LoadEnv(func(k string) string {
		return map[string]string{"HPS_STORE": "postgres://a@127.0.0.1/b"}[k]
	}); err != nil || c.Store != "postgres://a@127.0.0.1/b" {
		t.Fatalf("HPS_STORE not applied: %q, %v", c.Store, err)
	}
}
