package requestlog_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox/requestlog"
)

// discardStore accepts everything at once, so that a benchmark measures
// the request path and not a store.
type discardStore struct{ countingStore }

func (*discardStore) Append(context.Context, []requestlog.Entry) error { return nil }

func sampleEntry() requestlog.Entry {
	return requestlog.Entry{Sandbox: "s1", Time: time.Now(), ClientID: "app-1", Method: "GET",
		Path: "/sandboxes/s1/fhir/Patient/123", Query: "_format=json", Status: 200,
		Latency: time.Millisecond, ResponseBytes: 512, Scopes: "patient/*.rs", RequestID: "abc"}
}

// BenchmarkRecord is the Recorder's cost on the request path: queueing an
// entry, or counting it when the queue is full.
func BenchmarkRecord(b *testing.B) {
	// dropped/op shows which path was measured: a loop that does nothing
	// but record outruns the writer, which a server does not.
	report := func(b *testing.B, r *requestlog.Recorder) {
		b.ReportMetric(float64(r.Dropped())/float64(b.N), "dropped/op")
	}
	b.Run("Queued", func(b *testing.B) {
		r := requestlog.New(&discardStore{}, requestlog.Options{QueueSize: 1 << 16})
		defer r.Close(context.Background())
		e := sampleEntry()
		b.ReportAllocs()
		for b.Loop() {
			r.Record(e)
		}
		report(b, r)
	})
	b.Run("QueuedParallel", func(b *testing.B) {
		r := requestlog.New(&discardStore{}, requestlog.Options{QueueSize: 1 << 16})
		defer r.Close(context.Background())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			e := sampleEntry()
			for pb.Next() {
				r.Record(e)
			}
		})
		report(b, r)
	})
	b.Run("QueueFull", func(b *testing.B) {
		store := newBlockingStore()
		r := requestlog.New(store, requestlog.Options{QueueSize: 1})
		defer func() {
			close(store.release)
			r.Close(context.Background())
		}()
		e := sampleEntry()
		r.Record(e)
		<-store.entered
		r.Record(e)
		b.ReportAllocs()
		for b.Loop() {
			r.Record(e)
		}
		report(b, r)
	})
}

// BenchmarkSQLiteAppend is the writer's capacity on the SQLite store, in
// batches of DefaultBatchSize at the per-sandbox bound (so every batch
// also trims): above the request rate, nothing is dropped.
func BenchmarkSQLiteAppend(b *testing.B) {
	s, err := requestlog.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "requestlog.db"), 4*requestlog.DefaultBatchSize)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchAppend(b, s)
}

// BenchmarkPostgresAppend is BenchmarkSQLiteAppend on PostgreSQL
// (internal/testpg's server, on loopback).
func BenchmarkPostgresAppend(b *testing.B) {
	benchAppend(b, openPostgres(b, testpg.Start(b), 4*requestlog.DefaultBatchSize))
}

func benchAppend(b *testing.B, s requestlog.Store) {
	batch := make([]requestlog.Entry, requestlog.DefaultBatchSize)
	for i := range batch {
		batch[i] = sampleEntry()
	}
	ctx := context.Background()
	for range 5 { // fill to the bound
		if err := s.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if err := s.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "entries/s")
}
