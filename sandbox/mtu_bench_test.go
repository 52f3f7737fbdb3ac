package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hpsandbox/connectors/hl7v2"
	"hpsandbox/connectors/mllp"
	"hpsandbox/connectors/mtu"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// BenchmarkMTU_PCD01ToWebsocketPing measures a device reading end to end
// through the gateway: a PCD-01 message sent over MLLP, stored as an
// Observation (ACK AA), and notified as a websocket subscription's ping.
// It reports the latency from sending to the ping (p50, p99) and from
// the ACK to the ping, in ms.
func BenchmarkMTU_PCD01ToWebsocketPing(b *testing.B) {
	env, addr := mtuBenchEnv(b, nil)
	resp, body := env.fhir(b, http.MethodPost, "/Subscription", "",
		subscriptionBody("Observation?subject=Patient/pat-fnr", `{"type":"websocket"}`))
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("subscription: %d %v", resp.StatusCode, body)
	}
	id := body["id"].(string)
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, "ws://"+strings.TrimPrefix(env.srv.URL, "http://")+"/websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if err := ws.Write(ctx, websocket.MessageText, []byte("bind "+id)); err != nil {
			b.Fatal(err)
		}
		_, m, err := ws.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if string(m) == "bound "+id {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("bind: %s", m)
		}
		time.Sleep(20 * time.Millisecond) // the subscription is being taken up
	}
	sendPCD01s(b, addr, "BENCH", "ping", func(int) time.Time {
		_, m, err := ws.Read(ctx)
		if err != nil || string(m) != "ping "+id {
			b.Fatalf("ping: %q %v", m, err)
		}
		return time.Now()
	})
}

// mtuBenchEnv starts a gateway whose MTU connector listens on a free
// loopback port (adjust, when set, changes more of its configuration),
// with Patient/pat-fnr to store readings on; it returns the gateway and
// the connector's address.
func mtuBenchEnv(b *testing.B, adjust func(*Config)) (*gatewayEnv, string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	env := newGatewayEnvWith(b, func(c *Config, _ *parts) {
		c.Connectors, c.ConnectorListen = mtu.ID, mtu.ID+"="+addr+"@"+fhirstore.DefaultSandbox
		if adjust != nil {
			adjust(c)
		}
	})
	r, _ := fhirjson.Parse([]byte(`{"resourceType":"Patient","id":"pat-fnr","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"24017845396"}]}`))
	if _, _, err := env.store.Update(context.Background(), fhirstore.DefaultSandbox, r, fhirstore.UpdateOptions{}); err != nil {
		b.Fatal(err)
	}
	return env, addr
}

// sendPCD01s sends b.N PCD-01 messages (control ids prefix-N) over one
// MLLP connection to addr, each once the one before was notified:
// notified waits for message i's notification and returns when it came.
// It reports the latency from sending to the notification (p50, p99)
// and from the ACK to it, in ms, naming the notification what.
func sendPCD01s(b *testing.B, addr, prefix, what string, notified func(i int) time.Time) {
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
		msg := strings.Replace(pcd01, "|E2E-1|", fmt.Sprintf("|%s-%d|", prefix, i), 1)
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
		at := notified(i)
		total, afterAck = append(total, at.Sub(start)), append(afterAck, max(at.Sub(acked), 0))
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	slices.Sort(total)
	slices.Sort(afterAck)
	b.ReportMetric(ms(total[len(total)/2]), "send-to-"+what+"-p50-ms")
	b.ReportMetric(ms(total[len(total)*99/100]), "send-to-"+what+"-p99-ms")
	b.ReportMetric(ms(afterAck[len(afterAck)/2]), "ack-to-"+what+"-p50-ms")
}
