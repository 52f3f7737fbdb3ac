package fhirstore

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
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
	// Atomic makes LoadStream write the whole input in one transaction:
	// an invalid resource anywhere, or an error of next, writes nothing.
	// Memory stays bounded (the store spills what it writes to disk);
	// other writers wait until the load commits. Load is always atomic
	// for invalid input, since it validates everything first.
	Atomic bool
	// Name, when set, names the resource at a position of the input in
	// errors (such as "patients.ndjson line 12"); "resource N" otherwise.
	Name func(index int) string
}

// name names the resource at index i in errors.
func (o *LoadOptions) name(i int) string {
	if o.Name != nil {
		return o.Name(i)
	}
	return "resource " + strconv.Itoa(i)
}

// Load validates bodies, each a resource with a client-assigned id, and
// writes them into sandbox as creates-or-updates, in transactions of
// opts.Batch. Validation runs on every core before any write, so input with
// an invalid resource writes nothing; the error names its index.
func Load(ctx context.Context, s Store, sandbox Sandbox, bodies [][]byte, opts LoadOptions) error {
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	parsed, err := parseAll(bodies, 0, opts.name)
	if err != nil {
		return err
	}
	for start := 0; start < len(parsed); start += opts.Batch {
		end := min(start+opts.Batch, len(parsed))
		err := s.Tx(ctx, func(tx Tx) error {
			for i := start; i < end; i++ {
				if _, _, err := tx.Update(ctx, sandbox, parsed[i], UpdateOptions{}); err != nil {
					return fmt.Errorf("%s (%s/%s): %w", opts.name(i), parsed[i].Type, parsed[i].ID, err)
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

// Replace is Load into a sandbox emptied first, in one transaction of a
// store that is a Replacer: readers see the sandbox's old content or the
// new, never neither. Invalid input changes nothing. It fails on a store
// that is not a Replacer.
func Replace(ctx context.Context, s Store, sandbox Sandbox, bodies [][]byte, opts LoadOptions) error {
	r, ok := s.(Replacer)
	if !ok {
		return fmt.Errorf("fhirstore: the store cannot replace a sandbox's content (it does not implement fhirstore.Replacer)")
	}
	parsed, err := parseAll(bodies, 0, opts.name)
	if err != nil {
		return err
	}
	return r.ReplaceSandbox(ctx, sandbox, func(tx Tx) error {
		for i, res := range parsed {
			if _, _, err := tx.Update(ctx, sandbox, res, UpdateOptions{}); err != nil {
				return fmt.Errorf("%s (%s/%s): %w", opts.name(i), res.Type, res.ID, err)
			}
		}
		return nil
	})
}

// parseAll validates bodies in parallel, keeping their order; errors name
// a resource by its index plus offset.
func parseAll(bodies [][]byte, offset int, name func(int) string) ([]*fhirjson.Resource, error) {
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
					errs[i] = fmt.Errorf("%s: %w", name(offset+i), err)
				case r.ID == "":
					errs[i] = fmt.Errorf("%s (%s): has no id", name(offset+i), r.Type)
				case !fhirjson.ValidID(r.ID):
					errs[i] = fmt.Errorf("%s (%s): id %q cannot name a resource (%s)", name(offset+i), r.Type, r.ID, fhirjson.IDRule)
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
			res, err := parseAll(bodies, offset, opts.name)
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
	// write writes one piece, in transactions of opts.Batch, or within tx
	// when the load is atomic.
	write := func(p piece, in Tx) error {
		for start := 0; start < len(p.res); start += opts.Batch {
			end := min(start+opts.Batch, len(p.res))
			batch := func(tx Tx) error {
				for i := start; i < end; i++ {
					r := p.res[i]
					if _, _, err := tx.Update(ctx, sandbox, r, UpdateOptions{}); err != nil {
						return fmt.Errorf("%s (%s/%s): %w", opts.name(p.offset+i), r.Type, r.ID, err)
					}
				}
				return nil
			}
			var err error
			if in != nil {
				err = batch(in)
			} else {
				err = s.Tx(ctx, batch)
			}
			if err != nil {
				return err
			}
			done += end - start
			if opts.Progress != nil {
				opts.Progress(done, 0)
			}
		}
		return nil
	}
	if opts.Atomic {
		err := s.Tx(ctx, func(tx Tx) error {
			for p := range pieces {
				if p.err != nil {
					return p.err
				}
				if err := write(p, tx); err != nil {
					return err
				}
			}
			return ctx.Err()
		})
		if err != nil {
			return 0, err
		}
		return done, nil
	}
	for p := range pieces {
		if p.err != nil {
			return done, p.err
		}
		if err := write(p, nil); err != nil {
			return done, err
		}
	}
	return done, ctx.Err()
}
