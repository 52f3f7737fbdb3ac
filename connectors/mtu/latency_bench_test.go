package mtu

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// BenchmarkMLLPLatency splits the round trip of one connection's message
// (frame sent to ACK read, one message in flight) into where it goes:
// the reads that confirm the remembered Device and Patient ids
// (reads-µs), the FHIR engine's work on the transaction outside the
// store's transaction (engine-µs), the store's transaction from the
// caller's side: the wait for the committer, the writes and the commit
// (commit-µs), and the rest (rest-µs): parsing, the checks, the mapping,
// the ACK, the sender and the loopback connection.
func BenchmarkMLLPLatency(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	ts := &timedStore{Store: store}
	engine := interaction.New(ts, interaction.Config{BaseURL: "http://127.0.0.1/fhir"})
	te := &timedEngine{e: engine}
	c, err := Opener(Config{})(connectors.Deps{Engine: te})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := engine.Create(ctx, sandbox, []byte(`{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"`+fnr+`"}]}`)); err != nil {
		b.Fatal(err)
	}
	addr := serve(b, c.(*Connector))
	conn, r := dialT(b, addr)
	if code, _ := roundTrip(b, conn, r, benchMessage("warm")); code != hl7v2.AA {
		b.Fatalf("warm-up answered %s", code)
	}
	te.reads.Store(0)
	te.tx.Store(0)
	ts.tx.Store(0)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for i := range b.N {
		if code, _ := roundTrip(b, conn, r, benchMessage(fmt.Sprintf("L%d", i))); code != hl7v2.AA {
			b.Fatalf("message %d answered %s", i, code)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	per := func(ns int64) float64 { return float64(ns) / float64(b.N) / 1e3 }
	commit := ts.tx.Load()
	b.ReportMetric(per(te.reads.Load()), "reads-µs")
	b.ReportMetric(per(te.tx.Load()-commit), "engine-µs")
	b.ReportMetric(per(commit), "commit-µs")
	b.ReportMetric(per(elapsed.Nanoseconds()-te.reads.Load()-te.tx.Load()), "rest-µs")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
}

// timedEngine adds up the time spent in an engine's reads and
// transactions.
type timedEngine struct {
	e         *interaction.Engine
	reads, tx atomic.Int64
}

func since(n *atomic.Int64, start time.Time) { n.Add(int64(time.Since(start))) }

func (t *timedEngine) Create(ctx context.Context, sb fhirstore.Sandbox, res []byte) (*fhirstore.Resource, error) {
	return t.e.Create(ctx, sb, res)
}

func (t *timedEngine) Update(ctx context.Context, sb fhirstore.Sandbox, res []byte, ifMatch int64) (*fhirstore.Resource, error) {
	return t.e.Update(ctx, sb, res, ifMatch)
}

func (t *timedEngine) Read(ctx context.Context, sb fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	defer since(&t.reads, time.Now())
	return t.e.Read(ctx, sb, typ, id)
}

func (t *timedEngine) Search(ctx context.Context, sb fhirstore.Sandbox, typ string, params url.Values) (*fhirstore.SearchPage, error) {
	defer since(&t.reads, time.Now())
	return t.e.Search(ctx, sb, typ, params)
}

func (t *timedEngine) Transaction(ctx context.Context, sb fhirstore.Sandbox, bundle []byte) ([]byte, error) {
	defer since(&t.tx, time.Now())
	return t.e.Transaction(ctx, sb, bundle)
}

func (t *timedEngine) ValidatedTransaction(ctx context.Context, sb fhirstore.Sandbox, bundle []byte) ([]byte, error) {
	defer since(&t.tx, time.Now())
	return t.e.ValidatedTransaction(ctx, sb, bundle)
}

// timedStore adds up the time its callers spend in Tx: waiting for the
// committer, their writes, and the commit.
type timedStore struct {
	fhirstore.Store
	tx atomic.Int64
}

func (s *timedStore) Tx(ctx context.Context, fn func(fhirstore.Tx) error) error {
	defer since(&s.tx, time.Now())
	return s.Store.Tx(ctx, fn)
}
