package ginlog_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"hpsandbox/sandbox/requestlog"
)

func closeRecorder(t *testing.T, r *requestlog.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// countingStore counts what is appended.
type countingStore struct {
	mu sync.Mutex
	n  int
}

func (s *countingStore) Append(_ context.Context, es []requestlog.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n += len(es)
	return nil
}

func (s *countingStore) written() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *countingStore) Query(context.Context, requestlog.Filter) (requestlog.Page, error) {
	return requestlog.Page{}, nil
}

func (s *countingStore) DeleteSandbox(context.Context, string) error { return nil }

// discardStore accepts everything at once, so that a benchmark measures
// the request path and not a store.
type discardStore struct{ countingStore }

func (*discardStore) Append(context.Context, []requestlog.Entry) error { return nil }
