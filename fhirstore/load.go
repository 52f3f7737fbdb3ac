package fhirstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"

	"hpsandbox/fhirstore/fhirjson"
)

// LoadOptions tune Load.
type LoadOptions struct {
	// Batch is the number of resources written per transaction (default
	// 1000; 20,000 for LoadStream and LoadResources on a store's bulk
	// path, see BulkLoader).
	Batch int
	// Progress, when set, is called as the load goes, after each
	// transaction and after each piece of the input within one, with the
	// number of resources written so far and the total.
	Progress func(done, total int)
	// Atomic makes LoadStream write the whole input in one transaction:
	// an invalid resource anywhere, or an error of next, writes nothing.
	// Memory stays bounded (the store spills what it writes to disk);
	// other writers wait until the load commits. Load is always atomic
	// for invalid input, since it validates everything first.
	Atomic bool
	// Finishing, when set, is called once every resource is written and
	// the load finishes in the store (a bulk load builds the indexes it
	// deferred), which may take a while.
	Finishing func()
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
// an invalid resource writes nothing; the error names its index. Into an
// empty sandbox of a BulkLoader it takes the bulk path, as LoadStream does.
func Load(ctx context.Context, s Store, sandbox Sandbox, bodies [][]byte, opts LoadOptions) error {
	if opts.Batch <= 0 {
		// Load serves a running gateway (a new sandbox's data), whose
		// other writers wait while a transaction holds the writer.
		opts.Batch = 1000
	}
	parsed, err := parseAll(bodies, 0, opts.name)
	if err != nil {
		return err
	}
	pieces := make(chan piece, 1)
	pieces <- piece{res: parsed}
	close(pieces)
	if progress := opts.Progress; progress != nil {
		opts.Progress = func(done, _ int) { progress(done, len(parsed)) }
	}
	_, err = writePieces(ctx, s, sandbox, pieces, opts)
	return err
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

// BulkLoader is a Store with a faster way to fill an empty sandbox, which
// LoadStream and LoadResources take when the sandbox has nothing yet.
type BulkLoader interface {
	// BeginBulk starts a bulk load into sandbox. ok is false, and nothing
	// changed, when sandbox is not empty; the caller then writes the
	// ordinary way. After ok, the caller must call End whatever happens.
	BeginBulk(ctx context.Context, sandbox Sandbox) (b Bulk, ok bool, err error)
}

// Bulk is one bulk load (see BulkLoader).
type Bulk interface {
	// Tx runs fn as one transaction, as Store.Tx does: all of its inserts
	// land or none.
	Tx(ctx context.Context, fn func(BulkTx) error) error
	// End finishes the load: it builds what the load deferred (such as
	// secondary indexes).
	End(ctx context.Context) error
}

// BulkTx writes within a bulk load's transaction.
type BulkTx interface {
	// Insert writes r, which has an id, as Tx.Update would into the
	// load's sandbox, without first looking for a version to replace.
	Insert(ctx context.Context, r *fhirjson.Resource) error
}

// bulkBatch is the default number of resources per transaction of a bulk
// load: large transactions write each page of the store's files fewer
// times.
const bulkBatch = 20000

// errAtomicAgain ends an atomic load that the store would run again after
// a conflict with another writer.
var errAtomicAgain = errors.New("fhirstore: the load conflicted with another writer and wrote nothing; load again")

// piece is a piece of the input, validated, with the position of its first
// resource in the input.
type piece struct {
	res    []*fhirjson.Resource
	offset int
	err    error
}

// LoadStream is Load for input too large to hold: next returns the bodies
// of the next piece, and nil (with a nil error) at the end. Each piece is
// validated on every core while the piece before it is written, so memory
// holds about two pieces whatever the input's size. Unlike Load, a piece
// with an invalid resource stops the load after the pieces before it were
// written; the error names the resource by its position in the input.
// Progress, when set, gets the resources written so far and a total of 0
// (unknown). LoadStream returns how many resources it wrote.
//
// Into an empty sandbox of a BulkLoader the load takes the store's bulk
// path, in transactions of 20,000 resources unless opts.Batch says
// otherwise; what it writes is the same.
func LoadStream(ctx context.Context, s Store, sandbox Sandbox, next func() ([][]byte, error), opts LoadOptions) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pieces := produce(ctx, func(offset int) ([]*fhirjson.Resource, error) {
		bodies, err := next()
		if err != nil || bodies == nil {
			return nil, err
		}
		return parseAll(bodies, offset, opts.name)
	})
	return writePieces(ctx, s, sandbox, pieces, opts)
}

// LoadResources is LoadStream for resources that need no validation, such
// as those package fixtures generates (whose tests prove them valid): next
// returns the next piece, and nil (with a nil error) at the end. Each
// resource's id is still checked.
func LoadResources(ctx context.Context, s Store, sandbox Sandbox, next func() ([]*fhirjson.Resource, error), opts LoadOptions) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pieces := produce(ctx, func(offset int) ([]*fhirjson.Resource, error) {
		res, err := next()
		for i := 0; err == nil && i < len(res); i++ {
			if r := res[i]; !fhirjson.ValidID(r.ID) {
				err = fmt.Errorf("%s (%s): id %q cannot name a resource (%s)", opts.name(offset+i), r.Type, r.ID, fhirjson.IDRule)
			}
		}
		return res, err
	})
	return writePieces(ctx, s, sandbox, pieces, opts)
}

// produce runs next in a goroutine, one piece ahead of the writer: next
// gets the position in the input of the piece it returns, and returns nil
// (with a nil error) at the end. An error ends the pieces, as their last;
// so does the end of ctx.
func produce(ctx context.Context, next func(offset int) ([]*fhirjson.Resource, error)) <-chan piece {
	pieces := make(chan piece, 1)
	go func() {
		defer close(pieces)
		offset := 0
		for ctx.Err() == nil {
			res, err := next(offset)
			if err == nil && res == nil {
				return
			}
			select {
			case pieces <- piece{res: res, offset: offset, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			offset += len(res)
		}
	}()
	return pieces
}

// writePieces writes the pieces until the channel closes or a piece brings
// an error, in transactions of opts.Batch resources, or all in one when
// opts.Atomic. A transaction takes in a piece only when it is ready, so
// that it never waits for the input while holding the store's writer
// (except an atomic load, which holds it throughout). It returns how many
// resources it wrote.
func writePieces(ctx context.Context, s Store, sandbox Sandbox, pieces <-chan piece, opts LoadOptions) (written int, err error) {
	// txn runs one transaction, giving its function the way to write.
	txn := func(ctx context.Context, fn func(put func(*fhirjson.Resource) error) error) error {
		return s.Tx(ctx, func(tx Tx) error {
			return fn(func(r *fhirjson.Resource) error {
				_, _, err := tx.Update(ctx, sandbox, r, UpdateOptions{})
				return err
			})
		})
	}
	batch := opts.Batch
	if bl, ok := s.(BulkLoader); ok {
		b, ok, err := bl.BeginBulk(ctx, sandbox)
		if err != nil {
			return 0, err
		}
		if ok {
			defer func() {
				if opts.Finishing != nil {
					opts.Finishing()
				}
				if endErr := b.End(ctx); err == nil {
					err = endErr
				}
			}()
			txn = func(ctx context.Context, fn func(put func(*fhirjson.Resource) error) error) error {
				return b.Tx(ctx, func(tx BulkTx) error {
					return fn(func(r *fhirjson.Resource) error { return tx.Insert(ctx, r) })
				})
			}
			if batch <= 0 {
				batch = bulkBatch
			}
		}
	}
	if batch <= 0 {
		batch = 1000
	}
	if opts.Atomic {
		batch = 0 // no limit
	}
	var (
		cur   piece // the piece being written
		pos   int   // the next resource of cur to write
		ended bool  // the input ended, or brought an error (inErr)
		inErr error
		// A store may run a transaction's function again (after a
		// conflict with another writer): the pieces the first run took
		// are taken again, from again, and took records them (but for
		// an atomic load, which would hold its whole input so).
		again, took []piece
	)
	// take makes cur a piece with resources left to write, waiting for
	// one when wait is set; false when there is none (yet).
	take := func(wait bool) bool {
		for pos == len(cur.res) {
			var p piece
			ok := true
			switch {
			case len(again) > 0:
				p, again = again[0], again[1:]
			case ended:
				return false
			case wait:
				p, ok = <-pieces
			default:
				select {
				case p, ok = <-pieces:
				default:
					return false
				}
			}
			switch {
			case !ok:
				ended = true
			case p.err != nil:
				ended, inErr = true, p.err
			default:
				cur, pos = p, 0
				if !opts.Atomic {
					took = append(took, p)
				}
			}
		}
		return true
	}
	// report tells Progress of what is written, within a transaction
	// after each piece (transactions are long on the bulk path) and after
	// each commit, each count once.
	reported := 0
	report := func(done int) {
		if opts.Progress != nil && done != reported {
			reported = done
			opts.Progress(done, 0)
		}
	}
	for take(true) {
		n := 0
		first, firstPos := cur, pos
		runs := 0
		err := txn(ctx, func(put func(*fhirjson.Resource) error) error {
			if runs++; runs > 1 {
				if opts.Atomic {
					// Its input is gone: taking it again would
					// hold all of it.
					return errAtomicAgain
				}
				cur, pos = first, firstPos
				again = append(took[1:], again...)
			}
			took = []piece{cur}
			n = 0
			for (batch == 0 || n < batch) && take(opts.Atomic) {
				end := len(cur.res)
				if batch > 0 {
					end = min(end, pos+batch-n)
				}
				for i := pos; i < end; i++ {
					if err := put(cur.res[i]); err != nil {
						r := cur.res[i]
						return fmt.Errorf("%s (%s/%s): %w", opts.name(cur.offset+i), r.Type, r.ID, err)
					}
				}
				n += end - pos
				pos = end
				report(written + n)
			}
			if opts.Atomic {
				if inErr != nil {
					return inErr
				}
				return ctx.Err()
			}
			return nil
		})
		if err != nil {
			if opts.Atomic {
				return 0, err
			}
			return written, err
		}
		written += n
		report(written)
	}
	if inErr != nil {
		return written, inErr
	}
	return written, ctx.Err()
}
