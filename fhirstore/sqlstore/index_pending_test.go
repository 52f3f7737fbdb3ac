package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"hpsandbox/fhirstore"
)

// A transaction whose index rows no goroutine beside the writer can
// extract (every slot taken) is not held up: the writer extracts them
// itself when it flushes, and they are the rows a search finds.
func TestTx_IndexWithNoExtractorFree_WriterExtractsIt(t *testing.T) {
	s := openStore(t)
	release := s.HoldExtractions()
	defer release()
	ctx := context.Background()
	var want []string
	err := s.Tx(ctx, func(tx fhirstore.Tx) error {
		for i := range 5 {
			r := patient(t, "Heldslot")
			r.ID = fmt.Sprintf("held-%d", i)
			if _, _, err := tx.Update(ctx, sb, r, fhirstore.UpdateOptions{}); err != nil {
				return err
			}
			want = append(want, r.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	got := families(t, s, "Heldslot")
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("search by family found %v, want %v", got, want)
	}
}
