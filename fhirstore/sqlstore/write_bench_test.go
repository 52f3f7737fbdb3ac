package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// alarmResources are the resources of the VKP alarm in testdata, as the
// hub stores them: each with an id of its own (n) and its subject the
// Patient pat.
func alarmResources(b *testing.B, n int64) []*fhirjson.Resource {
	raw, err := os.ReadFile("../../connectors/vkp/testdata/alarm.json")
	if err != nil {
		b.Fatal(err)
	}
	uuid := fmt.Sprintf("%08x-1d2b-4c5e-9f60-%011x", n, n)
	raw = []byte(strings.ReplaceAll(string(raw), "3f0c8a8e-1d2b-4c5e-9f60-7a8b9c0d1e0", uuid))
	var bundle struct {
		Entry []struct{ Resource map[string]any }
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		b.Fatal(err)
	}
	var out []*fhirjson.Resource
	for i, e := range bundle.Entry {
		r := e.Resource
		r["id"] = fmt.Sprintf("vkp-%s%d", uuid, i)
		key := "subject"
		if r["resourceType"] == "DetectedIssue" {
			key = "patient"
		}
		r[key] = map[string]any{"reference": "Patient/p1"}
		body, err := json.Marshal(r)
		if err != nil {
			b.Fatal(err)
		}
		res, err := fhirjson.Parse(body)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, res)
	}
	return out
}

// benchStore is a SQLite store in the benchmark's temporary directory;
// the caller closes it when its run ends (b.Cleanup would keep every
// run's store open until the last).
func benchStore(b *testing.B) *sqlstore.Store {
	s, err := sqlite.Open(context.Background(), b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// putInOneTx stores rs, each as an update (that creates), in one
// transaction, as the hub stores an alarm.
func putInOneTx(ctx context.Context, s *sqlstore.Store, rs []*fhirjson.Resource) error {
	return s.Tx(ctx, func(tx fhirstore.Tx) error {
		for _, r := range rs {
			if _, _, err := tx.Update(ctx, "bench", r, fhirstore.UpdateOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
}

// putIdentifiedPatients stores n Patients, p0 … p(n-1), each with the
// national identity number of its index (%011d), for the hub's search.
func putIdentifiedPatients(b *testing.B, s *sqlstore.Store, n int) {
	for i := range n {
		body := fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"%011d"}]}`, i, i)
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Update(context.Background(), "bench", r, fhirstore.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTx3Put_Concurrent64 measures transactions of three updates
// that create (the resources of an alarm at ids of their own) from 64
// concurrent callers, as the VKP hub writes them: update-as-create in a
// transaction that shares group commits with the others.
func BenchmarkTx3Put_Concurrent64(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	defer s.Close()
	// The resources are made before: their parsing is not the store's.
	all := make([][]*fhirjson.Resource, b.N)
	for i := range all {
		all[i] = alarmResources(b, int64(i))
	}
	var seq atomic.Int64
	b.SetParallelism(32) // 64 callers on 2 cores
	b.ResetTimer()
	defer reportCPU(b)()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rs := all[seq.Add(1)-1]
			if err := putInOneTx(ctx, s, rs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tx/s")
	groups, writes := s.GroupCommits()
	b.ReportMetric(float64(writes)/float64(groups), "tx/group")
}

// BenchmarkAlarm_Concurrent64 measures what the store does for one VKP
// alarm, from 64 concurrent callers: the hub's three reads of ids not
// stored yet and its search of the person's Patient by identifier, then the
// transaction of three updates that create. Reads and searches run beside
// the commits, as the hub's do: each commit makes the readers' page caches
// stale.
func BenchmarkAlarm_Concurrent64(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	defer s.Close()
	putIdentifiedPatients(b, s, 200)
	all := make([][]*fhirjson.Resource, b.N)
	queries := make([]*search.Query, b.N)
	for i := range all {
		all[i] = alarmResources(b, int64(i))
		q, err := search.Parse("Patient", url.Values{"identifier": {fmt.Sprintf("urn:oid:2.16.578.1.12.4.1.4.1|%011d", i%200)}, "_count": {"2"}}, search.Options{})
		if err != nil {
			b.Fatal(err)
		}
		queries[i] = q
	}
	rctx, cancel := context.WithCancel(ctx) // a request's
	defer cancel()
	var seq atomic.Int64
	b.SetParallelism(32) // 64 callers on 2 cores
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1) - 1
			rs := all[i]
			for _, r := range rs {
				if _, err := s.Read(rctx, "bench", r.Type, r.ID); err != fhirstore.ErrNotFound {
					b.Errorf("read %s/%s: %v", r.Type, r.ID, err)
					return
				}
			}
			page, err := s.Search(rctx, "bench", fhirstore.SearchQuery{Query: queries[i]})
			if err != nil || len(page.Matches) != 1 {
				b.Errorf("search: %v", err)
				return
			}
			if err := putInOneTx(rctx, s, rs); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRead_Missing measures reads of ids that are not there (the
// hub's look-ups before it writes) from 16 concurrent callers.
func BenchmarkRead_Missing(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	defer s.Close()
	for i := range 100 {
		if err := putInOneTx(ctx, s, alarmResources(b, int64(i))); err != nil {
			b.Fatal(err)
		}
	}
	// A request's context, which can be cancelled, as the server's reads
	// have.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var seq atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("vkp-%08x-1d2b-4c5e-9f60-%011x0", seq.Add(1)+1000, 0)
			if _, err := s.Read(rctx, "bench", "Encounter", id); err != fhirstore.ErrNotFound {
				b.Errorf("read %s: %v", id, err)
				return
			}
		}
	})
}

// BenchmarkSearch_IdentifierToken measures the hub's search of a Patient
// by identifier (a token, _count=2) from 16 concurrent callers.
func BenchmarkSearch_IdentifierToken(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	defer s.Close()
	putIdentifiedPatients(b, s, 200)
	q, err := search.Parse("Patient", url.Values{"identifier": {"urn:oid:2.16.578.1.12.4.1.4.1|00000000042"}, "_count": {"2"}}, search.Options{})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx) // a request's
	defer cancel()
	b.SetParallelism(8)
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			page, err := s.Search(rctx, "bench", fhirstore.SearchQuery{Query: q})
			if err != nil || len(page.Matches) != 1 {
				b.Errorf("search: %v", err)
				return
			}
		}
	})
}

// reportCPU returns a func that reports the process's CPU time (user and
// system, all threads) per operation since reportCPU was called: on a
// shared machine wall-clock rates say little, CPU per operation says what
// a change saves.
func reportCPU(b *testing.B) func() {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	start := ru.Utime.Nano() + ru.Stime.Nano()
	return func() {
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.ReportMetric(float64(ru.Utime.Nano()+ru.Stime.Nano()-start)/float64(b.N), "cpu-ns/op")
	}
}
