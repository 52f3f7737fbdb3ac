package fhirstore

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"hpsandbox/fhirstore/fhirjson"
)

// LoadOptions tune Load.
type LoadOptions struct {
	// Batch is the number of resources written per transaction (default 1000).
	Batch int
	// Progress, when set, is called after each transaction with the number
	// of resources written so far and the total.
	Progress func(done, total int)
}

// Load validates bodies, each a resource with a client-assigned id, and
// writes them into sandbox as creates-or-updates, in transactions of
// opts.Batch. Validation runs on every core before any write, so input with
// an invalid resource writes nothing; the error names its index.
func Load(ctx context.Context, s Store, sandbox Sandbox, bodies [][]byte, opts LoadOptions) error {
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	parsed, err := parseAll(bodies)
	if err != nil {
		return err
	}
	for start := 0; start < len(parsed); start += opts.Batch {
		end := min(start+opts.Batch, len(parsed))
		err := s.Tx(ctx, func(tx Tx) error {
			for i := start; i < end; i++ {
				if _, _, err := tx.Update(ctx, sandbox, parsed[i], UpdateOptions{}); err != nil {
					return fmt.Errorf("resource %d (%s/%s): %w", i, parsed[i].Type, parsed[i].ID, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if opts.Progress != nil {
			opts.Progress(end, len(parsed))
		}
	}
	return nil
}

// parseAll validates bodies in parallel, keeping their order.
func parseAll(bodies [][]byte) ([]*fhirjson.Resource, error) {
	out := make([]*fhirjson.Resource, len(bodies))
	errs := make([]error, len(bodies))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(bodies); i += workers {
				r, err := fhirjson.Parse(bodies[i])
				switch {
				case err != nil:
					errs[i] = fmt.Errorf("resource %d: %w", i, err)
				case r.ID == "":
					errs[i] = fmt.Errorf("resource %d (%s): has no id", i, r.Type)
				case !fhirjson.ValidID(r.ID):
					errs[i] = fmt.Errorf("resource %d (%s): id %q cannot name a resource (%s)", i, r.Type, r.ID, fhirjson.IDRule)
				default:
					out[i] = r
				}
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
