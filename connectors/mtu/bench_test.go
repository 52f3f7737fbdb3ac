package mtu

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/requestlog"
)

// benchMessage is a small PCD-01 message: one SpO2 and one pulse rate.
func benchMessage(id string) []byte {
	return []byte("MSH|^~\\&|Sim^ACDE48234567ABCD^EUI-64||HPSANDBOX|default|20260301120000+0100||ORU^R01^ORU_R01|" + id + "|P|2.6|||AL|NE\r" +
		"PID|||" + fnr + "^^^&2.16.578.1.12.4.1.4.1&ISO^NNNOR\r" +
		"OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20260301115950+0100\r" +
		"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97|262688^MDC_DIM_PERCENT^MDC|||||F|||20260301115959+0100||||0123456789ABCDEF^^^EUI-64\r" +
		"OBX|2|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.2|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F|||20260301115959+0100||||0123456789ABCDEF^^^EUI-64\r")
}

// BenchmarkMLLPToObservations measures HL7 v2 messages per second over
// MLLP through to stored Observations: each connection sends a message,
// waits for its ACK (AA) and sends the next, as PCD-01 senders do.
// "recorded" opens the connector as the gateway does, through a
// connectors.Registry with a Recorder, so that every message is also
// judged by the checks and recorded, as the request log records it.
// writes/group is the mean number of writes (messages) the store's
// group commit put into one database transaction; cpu-µs/msg the
// process's CPU time (user and system, the sender's included) per
// message, which the machine's other load changes less than msgs/s.
func BenchmarkMLLPToObservations(b *testing.B) {
	for _, run := range []struct {
		conns    int
		recorded bool
	}{{1, false}, {8, false}, {1, true}, {8, true}} {
		name := fmt.Sprintf("conns=%d", run.conns)
		if run.recorded {
			name = "recorded/" + name
		}
		conns := run.conns
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, Config{})
			c := e.c
			var recorded atomic.Int64
			if run.recorded {
				c = openRecorded(b, e, func(requestlog.Entry) { recorded.Add(1) })
			}
			addr := serve(b, c)
			var seq atomic.Int64
			gc := e.store.(interface {
				GroupCommits() (groups, writes uint64)
			})
			groups0, writes0 := gc.GroupCommits()
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			var wg sync.WaitGroup
			per := (b.N + conns - 1) / conns
			for range conns {
				conn, r := dialT(b, addr)
				wg.Go(func() {
					for range per {
						id := fmt.Sprintf("B%d", seq.Add(1))
						if code, _ := roundTrip(b, conn, r, benchMessage(id)); code != hl7v2.AA {
							b.Errorf("message %s answered %s", id, code)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(per*conns)/time.Since(start).Seconds(), "msgs/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(per*conns), "cpu-µs/msg")
			if groups, writes := gc.GroupCommits(); groups > groups0 {
				b.ReportMetric(float64(writes-writes0)/float64(groups-groups0), "writes/group")
			}
			// An exchange is recorded once its ACK is written.
			for wait := time.Now(); run.recorded && recorded.Load() < int64(per*conns) && time.Since(wait) < 5*time.Second; {
				time.Sleep(time.Millisecond)
			}
			if run.recorded && recorded.Load() < int64(per*conns) {
				b.Errorf("%d messages recorded, want %d", recorded.Load(), per*conns)
			}
		})
	}
}

// openRecorded opens the connector over e's engine as the gateway opens
// it: through a connectors.Registry, recording into rec, so that each
// exchange is judged by the connector's checks as it is recorded.
func openRecorded(t testing.TB, e *env, rec recorderFunc) *Connector {
	t.Helper()
	var reg connectors.Registry
	if err := reg.Register(ID, Open); err != nil {
		t.Fatal(err)
	}
	set, err := reg.Open(connectors.Deps{Engine: e.engine, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := set.Get(ID)
	return c.(*Connector)
}

// recorderFunc is a connectors.Recorder.
type recorderFunc func(requestlog.Entry)

func (f recorderFunc) Record(e requestlog.Entry) { f(e) }

// BenchmarkHandleWithoutStore measures the connector's own work per
// message (parse, judge, map to FHIR JSON, the checks' findings) with an
// engine that stores nothing: what the connector costs apart from the
// store.
func BenchmarkHandleWithoutStore(b *testing.B) {
	var sent []byte
	c, err := Opener(Config{})(connectors.Deps{Engine: &recordingEngine{sent: &sent}})
	if err != nil {
		b.Fatal(err)
	}
	conn := c.(*Connector)
	conn.cfg.RegisterPatients = true
	var seq atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			msg := benchMessage(fmt.Sprintf("H%d", seq.Add(1)))
			m, ps := conn.Handle(context.Background(), "bench", msg)
			x := &connectors.Exchange{Request: msg}
			if ps.ack() != hl7v2.AA || len(conn.findings(x, m, ps)) != 0 {
				b.Fatalf("%+v", ps)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkStoreTransaction measures the store alone: the FHIR
// transaction one message becomes (two Observations, the Device known),
// written through the engine by 1 and 8 writers, validated in full as a
// transaction from outside is, and vouched for as the connector sends it
// (interaction.BundleRequest.Validated).
func BenchmarkStoreTransaction(b *testing.B) {
	for _, run := range []struct {
		name    string
		writers int
		vouched bool
	}{{"writers=1", 1, false}, {"writers=8", 8, false}, {"vouched/writers=1", 1, true}, {"vouched/writers=8", 8, true}} {
		writers := run.writers
		b.Run(run.name, func(b *testing.B) {
			e := newEnv(b, Config{})
			var bundle []byte
			rec := &recordingEngine{sent: &bundle}
			c, _ := Opener(Config{})(connectors.Deps{Engine: rec})
			rc := c.(*Connector)
			rc.devices = e.c.devices
			// Learn the Device ids once, through the real store.
			if _, ps := e.c.Handle(context.Background(), sandbox, benchMessage("warm")); ps.ack() != hl7v2.AA {
				b.Fatal(ps)
			}
			rc.devices = e.c.devices
			rc.engine = patientEngine{rec, e.patient}
			if _, ps := rc.Handle(context.Background(), sandbox, benchMessage("build")); ps.ack() != hl7v2.AA {
				b.Fatal(ps)
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			per := (b.N + writers - 1) / writers
			cpu0 := cpuTime()
			start := time.Now()
			for range writers {
				wg.Go(func() {
					for range per {
						transaction := e.engine.Transaction
						if run.vouched {
							transaction = e.engine.ValidatedTransaction
						}
						if _, err := transaction(context.Background(), sandbox, bundle); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(per*writers)/time.Since(start).Seconds(), "msgs/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(per*writers), "cpu-µs/msg")
		})
	}
}

// patientEngine finds the one patient and records transactions.
type patientEngine struct {
	*recordingEngine
	patient string
}

func (p patientEngine) Search(context.Context, fhirstore.Sandbox, string, url.Values) (*fhirstore.SearchPage, error) {
	return &fhirstore.SearchPage{Matches: []*fhirstore.Resource{{Type: "Patient", ID: strings.TrimPrefix(p.patient, "Patient/")}}}, nil
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
