package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// A search statement that runs past the time budget is interrupted in the
// engine, whether it is still looking for its first row or has returned
// some and looks for the next, and the search answers 503 (timeout). The
// statements here never end by themselves: without the interruption the
// test would not end either, so it gives up after a minute.
func TestSearch_PastTheBudget_IsInterruptedAndAnswers503(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir(), sqlstore.Options{SearchTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const rows = `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)
		SELECT x AS rid FROM n WHERE `
	for _, tc := range []struct{ name, statement string }{
		{"NoRowEver", rows + "x < 0"},
		{"OneRowThenNoneEver", rows + "x = 1 OR x < 0 LIMIT 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- s.RunAsSearch(ctx, tc.statement, "rid") }()
			select {
			case err := <-done:
				var oe *outcome.Error
				if !errors.As(err, &oe) || oe.Category != outcome.Busy || oe.Issues[0].Code != outcome.Timeout {
					t.Fatalf("got %v, want a 503 timeout", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("the statement was not interrupted at the budget")
			}
		})
	}
	if _, err := s.Read(ctx, sb, "Patient", "none"); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the store after interrupted searches: %v", err)
	}
}
