package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// A seed into an empty sandbox takes the bulk path; a second seed of the
// same sandbox takes the ordinary one, which makes every resource's next
// version, as a reload always did.
func TestSeedCommand_AgainIntoAFilledSandboxUpdatesEveryResource(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for range 2 {
		var errb bytes.Buffer
		err := run([]string{"seed", "--data", dir, "--patients", "5", "--seed", "9"}, func(string) string { return "" }, io.Discard, &errb)
		if err != nil || !strings.Contains(errb.String(), "seeded") {
			t.Fatalf("seed: %v %s", err, errb.String())
		}
	}
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Search(ctx, fhirstore.DefaultSandbox, fhirstore.SearchQuery{Type: "Patient", Count: 100})
	if err != nil || p.Total != 15 {
		t.Fatalf("patients: %d, %v", p.Total, err)
	}
	for _, m := range p.Matches {
		if m.Version != 2 {
			t.Errorf("Patient/%s is at version %d after two seeds, want 2", m.ID, m.Version)
		}
	}
}

// The bar shows what is done of the estimated total, the rate and the time
// left, and says when the indexes are being built.
func TestProgress_ShowsRateAndTimeLeft(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out, label: "seeding", tty: true, start: time.Now().Add(-2 * time.Second)}
	p.update(5000, 20000)
	p.finishing()
	p.done()
	re := regexp.MustCompile(`^\rseeding \[=+ +\] 5000/20000  (\d+)/s, (\d+)s left \nseeding: building search indexes …\n$`)
	m := re.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("bar %q", out.String())
	}
	rate, _ := strconv.Atoi(m[1])
	left, _ := strconv.Atoi(m[2])
	if rate < 2000 || rate > 2500 || left < 5 || left > 8 {
		t.Errorf("rate %s/s, %ss left: want about 2500/s and 6s", m[1], m[2])
	}
}
