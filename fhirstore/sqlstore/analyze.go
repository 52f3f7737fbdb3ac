package sqlstore

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// analyzeAfter is the least number of versions written between two runs
// of Dialect.Analyze; beyond it, a quarter of the versions analyzed.
const analyzeAfter = 1000

// analyzer refreshes the planner's statistics (Dialect.Analyze) beside
// the writers, after commits that together changed a good part of the
// data. PostgreSQL's autovacuum does so too, but only once a minute: a
// table filled since has no statistics, and the planner then reads a
// resource by id through the index of its type rather than the unique
// key, scanning every resource of the type. It runs from New until Close.
type analyzer struct {
	written  atomic.Int64 // versions written since the last run began
	analyzed atomic.Int64 // versions written before it
	kick     chan struct{}
	cancel   context.CancelFunc
	done     chan struct{}
}

func (s *Store) startAnalyzer() {
	if s.d.Analyze == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &analyzer{kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	s.az = a
	go func() {
		defer close(a.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-a.kick:
			}
			n := a.written.Swap(0)
			if _, err := s.read.ExecContext(ctx, s.d.Analyze); err != nil && ctx.Err() == nil {
				slog.Warn("refreshing the planner's statistics failed", "engine", s.d.Name, "err", err)
			}
			a.analyzed.Add(n)
		}
	}()
}

// analyzeInTx is the number of versions a transaction writes between two
// refreshes of the statistics inside it, after the first at analyzeAfter
// (see tx.analyze).
const analyzeInTx = 5000

// analyze refreshes the statistics inside a large write transaction: what
// it wrote is not committed, so the analyzer cannot see it, and the
// look-ups of its later writes would be planned for the tables as they
// were before it (a read by id through the index of its type, slower with
// every row the transaction adds).
func (t *tx) analyze(ctx context.Context) error {
	if err := t.flushIndex(ctx); err != nil {
		return err
	}
	q := t.s.d.Analyze
	if t.copy != nil {
		if q = t.bulkAnalyze(q); q == "" {
			return nil
		}
	}
	if _, err := t.sqlTx.ExecContext(context.WithoutCancel(ctx), q); err != nil {
		return t.wrap("analyze", err)
	}
	return nil
}

// wrote counts n versions written, for the analyzer.
func (s *Store) wrote(n int64) {
	if s.az != nil {
		s.az.written.Add(n)
	}
}

// analyzeIfDue starts a run of the analyzer when enough was written since
// the last; it is called after commits.
func (s *Store) analyzeIfDue() {
	a := s.az
	if a == nil {
		return
	}
	if w := a.written.Load(); w < analyzeAfter || w < a.analyzed.Load()/4 {
		return
	}
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// stopAnalyzer ends a run under way and waits for the analyzer to stop.
func (s *Store) stopAnalyzer() {
	if s.az == nil {
		return
	}
	s.az.cancel()
	<-s.az.done
}
