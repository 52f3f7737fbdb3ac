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
	parsed, err := parseAll(bodies, 0)
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

// parseAll validates bodies in parallel, keeping their order; errors name
// a resource by its index plus offset.
func parseAll(bodies [][]byte, offset int) ([]*fhirjson.Resource, error) {
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
					errs[i] = fmt.Errorf("resource %d: %w", offset+i, err)
				case r.ID == "":
					errs[i] = fmt.Errorf("resource %d (%s): has no id", offset+i, r.Type)
				case !fhirjson.ValidID(r.ID):
					errs[i] = fmt.Errorf("resource %d (%s): id %q cannot name a resource (%s)", offset+i, r.Type, r.ID, fhirjson.IDRule)
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

// LoadStream is Load for input too large to hold: next returns the bodies
// of the next piece, and nil (with a nil error) at the end. Each piece is
// validated on every core while the piece before it is written, so memory
// holds about two pieces whatever the input's size. Unlike Load, a piece
// with an invalid resource stops the load after the pieces before it were
// written; the error names the resource by its position in the input.
// Progress, when set, gets the resources written so far and a total of 0
// (unknown). LoadStream returns how many resources it wrote.
func LoadStream(ctx context.Context, s Store, sandbox Sandbox, next func() ([][]byte, error), opts LoadOptions) (int, error) {
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	type piece struct {
		res    []*fhirjson.Resource
		offset int
		err    error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pieces := make(chan piece, 1)
	go func() {
		defer close(pieces)
		offset := 0
		for ctx.Err() == nil {
			bodies, err := next()
			if err != nil || bodies == nil {
				if err != nil {
					pieces <- piece{err: err}
				}
				return
			}
			res, err := parseAll(bodies, offset)
			select {
			case pieces <- piece{res: res, offset: offset, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			offset += len(bodies)
		}
	}()
	done := 0
	for p := range pieces {
		if p.err != nil {
			return done, p.err
		}
		for start := 0; start < len(p.res); start += opts.Batch {
			end := min(start+opts.Batch, len(p.res))
			err := s.Tx(ctx, func(tx Tx) error {
				for i := start; i < end; i++ {
					r := p.res[i]
					if _, _, err := tx.Update(ctx, sandbox, r, UpdateOptions{}); err != nil {
						return fmt.Errorf("resource %d (%s/%s): %w", p.offset+i, r.Type, r.ID, err)
					}
				}
				return nil
			})
			if err != nil {
				return done, err
			}
			done += end - start
			if opts.Progress != nil {
				opts.Progress(done, 0)
			}
		}
	}
	return done, ctx.Err()
}
