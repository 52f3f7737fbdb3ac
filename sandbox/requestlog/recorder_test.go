package requestlog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"hpsandbox/sandbox/requestlog"
)

// blockingStore holds every Append until released (or its context ends),
// like a store on a stalled disk.
type blockingStore struct {
	entered chan int // receives each Append's batch size
	release chan struct{}

	mu       sync.Mutex
	appended []requestlog.Entry
}

func newBlockingStore() *blockingStore {
	return &blockingStore{entered: make(chan int, 100), release: make(chan struct{})}
}

func (s *blockingStore) Append(ctx context.Context, es []requestlog.Entry) error {
	s.entered <- len(es)
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appended = append(s.appended, es...)
	return nil
}

func (s *blockingStore) Query(context.Context, requestlog.Filter) (requestlog.Page, error) {
	return requestlog.Page{}, nil
}

func (s *blockingStore) DeleteSandbox(context.Context, string) error { return nil }

func (s *blockingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.appended)
}

func closeRecorder(t *testing.T, r *requestlog.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func numbered(i int) requestlog.Entry {
	return requestlog.Entry{Sandbox: "a", Method: "GET", Path: fmt.Sprintf("/fhir/Patient/%d", i), Status: 200}
}

func TestRecord_QueueFull_DropsAndCountsWithoutBlocking(t *testing.T) {
	const queue, extra = 4, 10
	store := newBlockingStore()
	r := requestlog.New(store, requestlog.Options{QueueSize: queue, Interval: time.Millisecond})
	r.Record(numbered(0))
	<-store.entered // the writer now holds entry 0 in a stalled Append

	var slowest time.Duration
	start := time.Now()
	for i := range queue + extra {
		t0 := time.Now()
		r.Record(numbered(i + 1))
		slowest = max(slowest, time.Since(t0))
	}
	if total := time.Since(start); total > time.Second || slowest > 100*time.Millisecond {
		t.Fatalf("Record blocked: %v in all, %v at most", total, slowest)
	}
	if got := r.Dropped(); got != extra {
		t.Fatalf("Dropped = %d, want %d (the queue holds %d)", got, extra, queue)
	}
	close(store.release)
	closeRecorder(t, r)
	if got := store.count(); got != 1+queue {
		t.Fatalf("stored %d entries, want %d", got, 1+queue)
	}
	if r.Failed() != 0 {
		t.Fatalf("Failed = %d, want 0", r.Failed())
	}
}

func TestClose_WritesEverythingQueuedInOrder(t *testing.T) {
	store := requestlog.NewMemoryStore(1000)
	r := requestlog.New(store, requestlog.Options{QueueSize: 500, BatchSize: 7})
	for i := range 300 {
		r.Record(numbered(i))
	}
	closeRecorder(t, r)
	p, err := store.Query(context.Background(), requestlog.Filter{Sandbox: "a", Limit: requestlog.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 300 {
		t.Fatalf("stored %d entries, want 300", len(p.Entries))
	}
	for i, e := range p.Entries {
		if want := numbered(299 - i).Path; e.Path != want {
			t.Fatalf("entry %d is %s, want %s: order lost", i, e.Path, want)
		}
	}
}

func TestFlush_WaitsForEntriesRecordedBefore(t *testing.T) {
	store := requestlog.NewMemoryStore(1000)
	r := requestlog.New(store, requestlog.Options{})
	defer closeRecorder(t, r)
	for round := 1; round <= 3; round++ {
		for i := range 50 {
			r.Record(numbered(i))
		}
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		p, err := store.Query(context.Background(), requestlog.Filter{Sandbox: "a", Limit: requestlog.MaxLimit})
		if err != nil || len(p.Entries) != 50*round {
			t.Fatalf("round %d: %d entries after Flush, %v; want %d", round, len(p.Entries), err, 50*round)
		}
	}
}

func TestClose_ContextEnds_CancelsWriteCountsFailedAndStops(t *testing.T) {
	store := newBlockingStore() // never released
	r := requestlog.New(store, requestlog.Options{QueueSize: 10, Interval: time.Millisecond})
	r.Record(numbered(0))
	<-store.entered
	for i := range 3 {
		r.Record(numbered(i + 1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
	// Close returned, so the writer has stopped: the stalled Append was
	// cancelled and the queued entries were given up.
	if got := r.Failed(); got != 4 {
		t.Fatalf("Failed = %d, want 4", got)
	}
	r.Record(numbered(9))
	if got := r.Dropped(); got != 1 {
		t.Fatalf("Dropped after Close = %d, want 1", got)
	}
	if err := r.Flush(context.Background()); !errors.Is(err, requestlog.ErrClosed) {
		t.Fatalf("Flush after Close = %v, want ErrClosed", err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

type failingStore struct{ *requestlog.MemoryStore }

func (failingStore) Append(context.Context, []requestlog.Entry) error {
	return errors.New("disk full")
}

func TestStoreError_CountsFailedAndLogsNoEntry(t *testing.T) {
	var log bytes.Buffer
	r := requestlog.New(failingStore{requestlog.NewMemoryStore(0)}, requestlog.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	for i := range 3 {
		e := numbered(i)
		e.Query = "_id=secret-patient-id"
		r.Record(e)
	}
	closeRecorder(t, r)
	if r.Failed() != 3 || r.Dropped() != 0 {
		t.Fatalf("Failed %d, Dropped %d; want 3 and 0", r.Failed(), r.Dropped())
	}
	if !bytes.Contains(log.Bytes(), []byte("disk full")) || bytes.Contains(log.Bytes(), []byte("secret-patient-id")) {
		t.Fatalf("log should name the error and no entry:\n%s", log.String())
	}
}

// countingStore records the size of every batch.
type countingStore struct {
	mu      sync.Mutex
	batches []int
}

func (s *countingStore) Append(_ context.Context, es []requestlog.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, len(es))
	return nil
}

func (s *countingStore) written() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.batches {
		n += b
	}
	return n
}

func (s *countingStore) Query(context.Context, requestlog.Filter) (requestlog.Page, error) {
	return requestlog.Page{}, nil
}

func (s *countingStore) DeleteSandbox(context.Context, string) error { return nil }

func TestRecord_Concurrent_EveryEntryWrittenOrDropped(t *testing.T) {
	const goroutines, each, batch = 8, 2000, 16
	store := &countingStore{}
	r := requestlog.New(store, requestlog.Options{QueueSize: 64, BatchSize: batch})
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for i := range each {
				r.Record(numbered(i))
			}
		})
	}
	wg.Wait()
	closeRecorder(t, r)
	written := 0
	for _, n := range store.batches {
		if n < 1 || n > batch {
			t.Fatalf("a batch of %d, want 1 to %d", n, batch)
		}
		written += n
	}
	if total := uint64(written) + r.Dropped(); total != goroutines*each {
		t.Fatalf("written %d + dropped %d = %d, want %d", written, r.Dropped(), total, goroutines*each)
	}
}

func TestRecord_HalfFullQueue_WakesWriterBeforeInterval(t *testing.T) {
	store := &countingStore{}
	r := requestlog.New(store, requestlog.Options{QueueSize: 8, Interval: time.Hour})
	defer closeRecorder(t, r)
	for i := range 3 {
		r.Record(numbered(i))
	}
	time.Sleep(20 * time.Millisecond)
	if n := store.written(); n != 0 {
		t.Fatalf("%d entries written below half a queue, want them to wait for the interval", n)
	}
	r.Record(numbered(3)) // the fourth of eight
	deadline := time.Now().Add(5 * time.Second)
	for store.written() != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d entries written, want 4 without waiting for the interval", store.written())
		}
		time.Sleep(time.Millisecond)
	}
}
