package sandbox

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors/hl7v2"
	"hpsandbox/connectors/mllp"
	"hpsandbox/connectors/mtu"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// BenchmarkMTU_PCD01ToRestHook measures a device reading end to end
// through the gateway to a rest-hook: a PCD-01 message sent over MLLP,
// stored as an Observation (ACK AA), and notified to a Subscription's
// rest-hook endpoint on loopback. It reports the latency from sending to
// the notification's arrival (p50, p99) and from the ACK to it, in ms.
//
//	go test -run '^$' -bench MTU_PCD01ToRestHook -benchtime 2s ./sandbox
func BenchmarkMTU_PCD01ToRestHook(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	env := newGatewayEnvWith(b, func(c *Config, _ *parts) {
		c.Connectors, c.ConnectorListen = mtu.ID, mtu.ID+"="+addr+"@"+fhirstore.DefaultSandbox
		c.SubscriptionLoopback = true
	})
	r, _ := fhirjson.Parse([]byte(`{"resourceType":"Patient","id":"pat-fnr","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"24017845396"}]}`))
	if _, _, err := env.store.Update(context.Background(), fhirstore.DefaultSandbox, r, fhirstore.UpdateOptions{}); err != nil {
		b.Fatal(err)
	}
	arrived := make(chan time.Time, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		_, _ = io.Copy(io.Discard, r.Body)
		arrived <- now
	}))
	defer hook.Close()
	resp, body := env.fhir(b, http.MethodPost, "/Subscription", "",
		subscriptionBody("Observation?subject=Patient/pat-fnr", fmt.Sprintf(`{"type":"rest-hook","endpoint":%q,"payload":"application/fhir+json"}`, hook.URL)))
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("subscription: %d %v", resp.StatusCode, body)
	}
	id := body["id"].(string)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, body := env.fhir(b, http.MethodGet, "/Subscription/"+id, "", "")
		if resp.StatusCode == http.StatusOK && body["status"] == "active" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("Subscription/%s is not active: %v", id, body)
		}
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	rd := mllp.NewReader(conn, 0)
	total := make([]time.Duration, 0, b.N)
	afterAck := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		msg := strings.Replace(pcd01, "|E2E-1|", fmt.Sprintf("|HOOK-%d|", i), 1)
		start := time.Now()
		if err := mllp.WriteFrame(conn, []byte(msg)); err != nil {
			b.Fatal(err)
		}
		ans, err := rd.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		if ack, err := hl7v2.Parse(ans); err != nil || ack.Segment("MSA").Get(1, 1) != hl7v2.AA {
			b.Fatalf("ACK %q", ans)
		}
		var at time.Time
		select {
		case at = <-arrived:
		case <-time.After(10 * time.Second):
			b.Fatalf("message %d: no notification", i)
		}
		total, afterAck = append(total, at.Sub(start)), append(afterAck, max(at.Sub(acked), 0))
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	slices.Sort(total)
	slices.Sort(afterAck)
	b.ReportMetric(ms(total[len(total)/2]), "send-to-hook-p50-ms")
	b.ReportMetric(ms(total[len(total)*99/100]), "send-to-hook-p99-ms")
	b.ReportMetric(ms(afterAck[len(afterAck)/2]), "ack-to-hook-p50-ms")
}
