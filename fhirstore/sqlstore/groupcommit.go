package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// Group commit: the single writes (Create, Update, Delete, ReplaceMeta
// outside Store.Tx) of concurrent callers share database transactions. One
// goroutine, the committer, takes whatever writes are queued (at most
// groupMax), runs each inside a savepoint of one transaction and commits
// once. A write that fails is rolled back to its savepoint and answered
// with its own error; the others still commit. Every caller is answered
// only after the commit that holds its write, so a write acknowledged is a
// write committed, exactly as with a transaction of its own.
//
// The committer runs a write with its caller's context values but not its
// cancellation: SQLite rolls back the whole transaction when a statement
// inside it is interrupted, which would undo the neighbours' writes. A
// caller that gives up while queued is answered with its context's error
// and its write never runs; one that gives up while its write runs waits
// for the commit like any other.

// groupMax bounds the writes one group transaction holds, so that a long
// queue does not make the first writer wait for the last.
const groupMax = 128

// groupBudget bounds the time a group transaction spends running writes:
// a write starts in the group only within it of the group's first. A
// commit costs far less, so the wait a group adds stays near this.
const groupBudget = 10 * time.Millisecond

// writeJob is one queued single write.
type writeJob struct {
	ctx  context.Context
	run  func(ctx context.Context, t *tx) error
	done chan error
}

// committer owns the goroutine that commits groups; it runs from New until
// Close.
type committer struct {
	jobs chan *writeJob
	quit chan struct{}
	wg   sync.WaitGroup
	// mu guards closed: no job is queued once Close began, so that every
	// queued job is answered, by the committer or by its drain.
	mu     sync.RWMutex
	closed bool
	// groups and writes count the group transactions committed and the
	// writes they held.
	groups, writes atomic.Uint64
	// budget is groupBudget, which tests of a whole group lift.
	budget time.Duration
}

// GroupCommits reports how many group transactions committed and how many
// single writes they held in all; writes/groups is the mean group size.
func (s *Store) GroupCommits() (groups, writes uint64) {
	return s.gc.groups.Load(), s.gc.writes.Load()
}

// ErrClosed is the error of a write queued after Close.
var ErrClosed = errors.New("sqlstore: store is closed")

func (s *Store) startCommitter() {
	s.gc = &committer{jobs: make(chan *writeJob, groupMax), quit: make(chan struct{}), budget: groupBudget}
	s.gc.wg.Add(1)
	go func() {
		defer s.gc.wg.Done()
		batch := make([]*writeJob, 0, groupMax)
		for {
			select {
			case <-s.gc.quit:
				s.drainClosed()
				return
			case j := <-s.gc.jobs:
				batch = append(batch[:0], j)
			}
			if len(s.gc.jobs) < groupMax/2 {
				// Writers that are running (parsing, extracting) reach
				// the queue first: a group that holds them writes each
				// page its writes share once, and a commit's WAL frames,
				// two system calls each, are most of its cost.
				runtime.Gosched()
			}
			s.gc.take(&batch)
			for rest := batch; len(rest) > 0; {
				rest = s.commitGroup(rest, nil)
			}
			clear(batch)
		}
	}()
}

// take adds to batch whatever is queued, without waiting: writers that
// arrive while a group commits form the next group.
func (c *committer) take(batch *[]*writeJob) {
	for len(*batch) < groupMax {
		select {
		case j := <-c.jobs:
			*batch = append(*batch, j)
		default:
			return
		}
	}
}

// stopCommitter answers the writes still queued with ErrClosed and waits
// for the committer to stop; a group under way commits first.
func (s *Store) stopCommitter() {
	if s.gc == nil {
		return
	}
	s.gc.mu.Lock()
	s.gc.closed = true
	s.gc.mu.Unlock()
	close(s.gc.quit)
	s.gc.wg.Wait()
}

func (s *Store) drainClosed() {
	for {
		select {
		case j := <-s.gc.jobs:
			j.done <- ErrClosed
		default:
			return
		}
	}
}

// maxRetries bounds how often single runs a write again that failed as
// Dialect.Retryable says.
const maxRetries = 5

// single runs one write in the next group transaction and returns its
// error once that transaction committed (or failed). A write that failed
// only because a concurrent transaction got in its way (a deadlock or a
// serialization failure, see Dialect.Retryable) left nothing behind, its
// savepoint or its group rolled back, and runs again.
func (s *Store) single(ctx context.Context, run func(ctx context.Context, t *tx) error) error {
	return s.singleAt(ctx, sql.LevelDefault, run)
}

// singleAt is single with the isolation of a write run per request (a
// group transaction has the engine's default).
func (s *Store) singleAt(ctx context.Context, iso sql.IsolationLevel, run func(ctx context.Context, t *tx) error) error {
	for try := 0; ; try++ {
		err := s.singleOnce(ctx, iso, run)
		if err == nil || s.d.Retryable == nil || try == maxRetries || !s.d.Retryable(err) {
			return err
		}
	}
}

func (s *Store) singleOnce(ctx context.Context, iso sql.IsolationLevel, run func(ctx context.Context, t *tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &writeJob{ctx: ctx, run: run, done: make(chan error, 1)}
	s.gc.mu.RLock()
	if s.gc.closed {
		s.gc.mu.RUnlock()
		return ErrClosed
	}
	if !s.groupCommit {
		// A transaction of its own, on the caller's goroutine; Close
		// waits for it (it holds the read lock).
		s.commitGroup([]*writeJob{j}, &sql.TxOptions{Isolation: iso})
		s.gc.mu.RUnlock()
		return unpanic(<-j.done)
	}
	select {
	case s.gc.jobs <- j:
	case <-ctx.Done():
		s.gc.mu.RUnlock()
		return ctx.Err()
	}
	s.gc.mu.RUnlock()
	return unpanic(<-j.done)
}

// unpanic raises again in the caller's goroutine the panic of its write.
func unpanic(err error) error {
	var p *panicked
	if errors.As(err, &p) {
		panic(p.value)
	}
	return err
}

// panicked carries a panic of a write from the committer's goroutine back
// to its caller's.
type panicked struct{ value any }

func (p *panicked) Error() string { return fmt.Sprintf("write panicked: %v", p.value) }

// commitGroup runs jobs of batch in one transaction — as many as start
// within groupBudget of the first — answers them, and returns the jobs left
// for the next group: a group of large transactions does not keep the
// first of them waiting for the last.
//
// The writes run bare, without a savepoint each (see bare): a savepoint
// makes SQLite copy every page a write touches into its statement journal
// and made each write insert its index rows before it ended, a statement
// per table and write, where bare writes insert the rows of the whole
// group together. Once a write fails, the transaction is rolled back and
// begun again: the writes that ran before it run again, and every write
// after them, each in a savepoint of its own (see savepoint), so that the
// failing one fails alone. A group pays for that only when a write of it
// fails, and then at most once.
func (s *Store) commitGroup(batch []*writeJob, opts *sql.TxOptions) (rest []*writeJob) {
	errs := make([]error, len(batch))
	n := len(batch) // the jobs this group took
	answer := func(commitErr error) {
		for i, j := range batch[:n] {
			if errs[i] == nil {
				errs[i] = commitErr
			}
			j.done <- errs[i]
		}
	}
	// fail answers the jobs up to the i-th that have no error of their
	// own with err, the rest of the group being left to the next.
	fail := func(i int, err error) []*writeJob {
		n = i + 1
		for k := range batch[:n] {
			if errs[k] == nil {
				errs[k] = err
			}
		}
		answer(nil)
		return batch[n:]
	}
	t, err := s.beginGroup(opts)
	if err != nil {
		answer(err)
		return nil
	}
	// Once the group ended and its writers are answered.
	defer func() { s.prepareNoted(t) }()
	guarded := false
	// again rolls the transaction back and runs the jobs up to the i-th
	// again in a new one, each in a savepoint, but the one that failed
	// (-1 when the failure is not known to be one write's).
	again := func(i, failed int) error {
		guarded = true
		t.settle()
		_ = t.sqlTx.Rollback()
		s.prepareNoted(t)
		if t, err = s.beginGroup(opts); err != nil {
			return err
		}
		for k, j := range batch[:i+1] {
			if k == failed || errs[k] != nil {
				continue // failed, or given up while queued
			}
			if errs[k] = t.savepoint(context.WithoutCancel(j.ctx), j.run); errors.Is(errs[k], errTxBroken) {
				return errs[k]
			}
		}
		return nil
	}
	start := time.Now()
	for i, j := range batch {
		if i > 0 && time.Since(start) >= s.gc.budget {
			n = i
			break
		}
		if err := j.ctx.Err(); err != nil {
			errs[i] = err // given up while queued: never ran
			continue
		}
		ctx := context.WithoutCancel(j.ctx)
		if guarded {
			if errs[i] = t.savepoint(ctx, j.run); errors.Is(errs[i], errTxBroken) {
				// The transaction itself failed: nothing of the group lands.
				t.settle()
				_ = t.sqlTx.Rollback()
				return fail(i, errs[i])
			}
			continue
		}
		err := t.bare(ctx, j.run)
		if err == nil {
			continue
		}
		failed := i
		if t.flushErr != nil {
			// A flush of index rows failed, which may hold the rows of
			// the writes before: each runs in its savepoint again.
			failed = -1
		} else {
			errs[i] = err
		}
		if i == len(batch)-1 && !slices.ContainsFunc(errs[:i], func(e error) bool { return e == nil }) && failed == i {
			// Nothing ran before it and nothing comes after.
			t.settle()
			_ = t.sqlTx.Rollback()
			answer(nil)
			return nil
		}
		if err := again(i, failed); err != nil {
			if t.sqlTx != nil {
				t.settle()
				_ = t.sqlTx.Rollback()
			}
			return fail(i, err)
		}
	}
	if !guarded {
		// The index rows of the bare writes, which may fail one of them
		// (its extraction).
		if err := t.flushIndex(context.Background()); err != nil {
			if err := again(n-1, -1); err != nil {
				if t.sqlTx != nil {
					t.settle()
					_ = t.sqlTx.Rollback()
				}
				return fail(n-1, err)
			}
		}
	}
	t.settle()
	ran := 0
	for _, err := range errs[:n] {
		if err == nil {
			ran++
		}
	}
	if ran == 0 {
		_ = t.sqlTx.Rollback()
		answer(nil)
		return batch[n:]
	}
	turn := s.ticket()
	if err := t.sqlTx.Commit(); err != nil {
		s.settle(turn, nil)
		// No write of the group was acknowledged, and none landed.
		for i := range errs {
			errs[i] = nil
		}
		answer(fmt.Errorf("%s: commit: %w", s.d.Name, err))
		return batch[n:]
	}
	s.committed()
	s.settle(turn, t.changes)
	s.gc.groups.Add(1)
	s.gc.writes.Add(uint64(ran))
	answer(nil)
	return batch[n:]
}

// beginGroup begins a group transaction. The transaction is not any
// caller's: no caller's cancellation may end it.
func (s *Store) beginGroup(opts *sql.TxOptions) (*tx, error) {
	sqlTx, err := s.write.BeginTx(context.Background(), opts)
	if err != nil {
		return &tx{s: s}, fmt.Errorf("%s: begin: %w", s.d.Name, err)
	}
	t := &tx{s: s, sqlTx: sqlTx}
	t.q = flushing{t}
	return t, nil
}

// bare runs one write of a group without a savepoint. Its index rows stay
// queued for the flush of the group's (or a later statement's, see
// flushing); a flush that failed fails the write, as it may hold its rows.
func (t *tx) bare(ctx context.Context, run func(ctx context.Context, t *tx) error) error {
	err := runGuarded(ctx, t, run)
	if err == nil && t.flushErr != nil {
		err = t.flushErr
	}
	return err
}

// errTxBroken marks a failure that leaves the group transaction unusable
// (a savepoint that cannot be rolled back to).
var errTxBroken = errors.New("group transaction broken")

// savepoint runs one write inside a savepoint of the group transaction,
// with its index rows flushed before the savepoint is released, so that
// any failure of the write — its statements, its index extraction — is
// rolled back alone. No index rows of another write may be queued.
func (t *tx) savepoint(ctx context.Context, run func(ctx context.Context, t *tx) error) error {
	if _, err := t.sqlTx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return fmt.Errorf("%w: %s: savepoint: %w", errTxBroken, t.s.d.Name, err)
	}
	changes := len(t.changes)
	err := runGuarded(ctx, t, run)
	if err == nil {
		err = t.flushIndex(ctx)
	}
	if err == nil {
		if _, err := t.sqlTx.ExecContext(ctx, "RELEASE w"); err != nil {
			return fmt.Errorf("%w: %s: release: %w", errTxBroken, t.s.d.Name, err)
		}
		return nil
	}
	// Forget what the write left queued, then undo what it wrote.
	clear(t.changes[changes:])
	t.changes = t.changes[:changes]
	t.settle()
	clear(t.pending)
	t.pending = t.pending[:0]
	for tab := range t.rows {
		clear(t.rows[tab])
		t.rows[tab] = t.rows[tab][:0]
	}
	t.flushErr = nil
	if _, rbErr := t.sqlTx.ExecContext(ctx, "ROLLBACK TO w"); rbErr != nil {
		return fmt.Errorf("%w: %s: rollback to savepoint: %w (after %w)", errTxBroken, t.s.d.Name, rbErr, err)
	}
	if _, rbErr := t.sqlTx.ExecContext(ctx, "RELEASE w"); rbErr != nil {
		return fmt.Errorf("%w: %s: release: %w (after %w)", errTxBroken, t.s.d.Name, rbErr, err)
	}
	return err
}

// runGuarded runs one write, turning a panic into an error that its
// savepoint rolls back and its caller raises again.
func runGuarded(ctx context.Context, t *tx, run func(ctx context.Context, t *tx) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicked{value: v}
		}
	}()
	return run(ctx, t)
}

// groupTx is the fhirstore.Tx that Store.Tx hands to its function. Its
// writes run without their caller's cancellation: SQLite answers an
// interrupted INSERT, UPDATE or DELETE by rolling back the whole
// transaction, which holds the neighbours' writes too. Reads stay
// cancellable, since an interrupted SELECT fails alone.
type groupTx struct{ *tx }

func (g groupTx) Create(ctx context.Context, sandbox fhirstore.Sandbox, r *fhirjson.Resource, id string) (*fhirstore.Resource, error) {
	return g.tx.Create(context.WithoutCancel(ctx), sandbox, r, id)
}

func (g groupTx) Update(ctx context.Context, sandbox fhirstore.Sandbox, r *fhirjson.Resource, opts fhirstore.UpdateOptions) (*fhirstore.Resource, bool, error) {
	return g.tx.Update(context.WithoutCancel(ctx), sandbox, r, opts)
}

func (g groupTx) Delete(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	return g.tx.Delete(context.WithoutCancel(ctx), sandbox, typ, id)
}

func (g groupTx) ReplaceMeta(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string, version int64, body []byte) error {
	return g.tx.ReplaceMeta(context.WithoutCancel(ctx), sandbox, typ, id, version, body)
}
