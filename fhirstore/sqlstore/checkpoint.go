package sqlstore

import (
	"context"
	"log/slog"
	"time"
)

// checkpointEvery is the least time between two checkpoints: each one
// copies what the commits since the last wrote (a page written by many
// commits once) and syncs the database file.
const checkpointEvery = 200 * time.Millisecond

// checkpointer copies the write-ahead log into the database beside the
// writer (Dialect.Checkpoint on a read connection), at most every
// checkpointEvery and only after commits, so that no commit waits for a
// checkpoint. It runs from New until Close.
type checkpointer struct {
	kick   chan struct{} // a commit happened
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *Store) startCheckpointer() {
	if s.d.Checkpoint == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	s.cp = c
	go func() {
		defer close(c.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.kick:
			}
			if _, err := s.read.ExecContext(ctx, s.d.Checkpoint); err != nil && ctx.Err() == nil {
				slog.Warn("checkpoint failed; the writer checkpoints when the log grows large", "engine", s.d.Name, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(checkpointEvery):
			}
		}
	}()
}

// committed tells the checkpointer that there is log to copy, and the
// analyzer that there may be statistics to refresh.
func (s *Store) committed() {
	s.analyzeIfDue()
	if s.cp == nil {
		return
	}
	select {
	case s.cp.kick <- struct{}{}:
	default:
	}
}

// stopCheckpointer ends a checkpoint under way and waits for the
// checkpointer to stop.
func (s *Store) stopCheckpointer() {
	if s.cp == nil {
		return
	}
	s.cp.cancel()
	<-s.cp.done
}
