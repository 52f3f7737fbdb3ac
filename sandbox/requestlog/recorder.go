package requestlog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Recorder. The zero value is usable.
type Options struct {
	// QueueSize bounds the entries waiting to be written (default 4096).
	// When the queue is full, Record drops the entry and counts it.
	QueueSize int
	// BatchSize bounds the entries given to one Store.Append (default
	// 1024); larger batches make fewer, cheaper SQLite commits.
	BatchSize int
	// Interval is how long an entry may wait in the queue while traffic
	// is light (default 100ms); a queue half full is written at once.
	Interval time.Duration
	// Logger receives store errors (default slog.Default()).
	Logger *slog.Logger
}

// Default options.
const (
	DefaultQueueSize = 4096
	DefaultBatchSize = 1024
	DefaultInterval  = 100 * time.Millisecond
)

// ErrClosed is returned by Flush on a closed Recorder.
var ErrClosed = errors.New("requestlog: recorder closed")

// Recorder takes entries on the request path and writes them to a Store
// from one goroutine of its own, which Close stops. It is safe for
// concurrent use.
type Recorder struct {
	store     Store
	batchSize int
	interval  time.Duration
	log       *slog.Logger

	queue chan Entry
	// kick wakes the writer early, when the queue is half full; waking it
	// for every entry would cost the request more than the entry does.
	kick   chan struct{}
	kickAt int
	flush  chan chan struct{}
	stop   chan struct{}
	done   chan struct{}
	// ctx is the writer's context, cancelled when Close gives up waiting.
	ctx    context.Context
	cancel context.CancelFunc

	closed    atomic.Bool
	closeOnce sync.Once
	dropped   atomic.Uint64
	failed    atomic.Uint64
}

// New starts a Recorder writing to store. The caller must Close it; the
// store stays the caller's to close, after the Recorder.
func New(store Store, opts Options) *Recorder {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Recorder{
		store:     store,
		batchSize: opts.BatchSize,
		interval:  opts.Interval,
		log:       opts.Logger,
		queue:     make(chan Entry, opts.QueueSize),
		kick:      make(chan struct{}, 1),
		kickAt:    max(opts.QueueSize/2, 1),
		flush:     make(chan chan struct{}),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		ctx:       ctx,
		cancel:    cancel,
	}
	go r.run()
	return r
}

// Record queues e for writing and returns at once. When the queue is full,
// or the Recorder is closed, e is dropped and counted in Dropped.
func (r *Recorder) Record(e Entry) {
	if r.closed.Load() {
		r.dropped.Add(1)
		return
	}
	select {
	case r.queue <- e:
		if len(r.queue) >= r.kickAt {
			select {
			case r.kick <- struct{}{}:
			default:
			}
		}
	default:
		r.dropped.Add(1)
	}
}

// Dropped returns how many entries Record dropped because the queue was
// full or the Recorder closed.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Failed returns how many entries were lost because the Store failed to
// append them.
func (r *Recorder) Failed() uint64 { return r.failed.Load() }

// Flush waits until every entry recorded before the call has been handed
// to the Store (written, or counted in Failed).
func (r *Recorder) Flush(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case r.flush <- reply:
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking entries, writes those queued, and stops the writer.
// Call it once the server has stopped serving, so that no request is
// recording. If ctx ends first, the write in progress is cancelled, the
// entries still queued are counted in Failed, and Close returns ctx.Err()
// once the writer has stopped.
func (r *Recorder) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		close(r.stop)
	})
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		r.cancel()
		<-r.done
		return ctx.Err()
	}
}

// run is the writer: every interval, or when kicked, it appends what has
// queued up, a batch at a time. It sleeps in between rather than waiting
// on the queue, so that a request never pays for waking it.
func (r *Recorder) run() {
	defer close(r.done)
	defer r.cancel()
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	batch := make([]Entry, 0, r.batchSize)
	for {
		select {
		case <-tick.C:
			r.drain(batch, len(r.queue))
		case <-r.kick:
			r.drain(batch, len(r.queue))
		case reply := <-r.flush:
			// Everything recorded before Flush was called is among the
			// entries queued now; later ones need not wait.
			r.drain(batch, len(r.queue))
			close(reply)
		case <-r.stop:
			r.drain(batch, len(r.queue))
			return
		}
	}
}

// take appends up to n entries that are already queued, without waiting.
func (r *Recorder) take(batch []Entry, n int) []Entry {
	for range n {
		select {
		case e := <-r.queue:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// drain writes the next n queued entries in batches.
func (r *Recorder) drain(batch []Entry, n int) {
	for n > 0 {
		batch = r.take(batch[:0], min(n, r.batchSize))
		if len(batch) == 0 {
			return
		}
		n -= len(batch)
		r.write(batch)
	}
}

func (r *Recorder) write(batch []Entry) {
	for i := range batch {
		if e := &batch[i]; e.outcome != nil {
			e.Issues, e.outcome = parseIssues(e.outcome), nil
		}
	}
	if err := r.ctx.Err(); err != nil {
		r.failed.Add(uint64(len(batch)))
	} else if err := r.store.Append(r.ctx, batch); err != nil {
		r.failed.Add(uint64(len(batch)))
		// Only the count is logged: entries belong in the request log,
		// not in the process log.
		r.log.Error("requestlog: append failed", "entries", len(batch), "error", err)
	}
	// Let the written entries' strings be collected.
	clear(batch)
}
