package mtu

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/connectors/mllp"
)

func TestHandle_BadMessages_AnsweredAEOrARAndWriteNothing(t *testing.T) {
	monitor := string(testdata(t, "pcd01-monitor.hl7"))
	tests := []struct {
		name  string
		msg   string
		ack   string
		code  string // ERR-3 of the first ERR
		seg   string // ERR-2.1
		field int    // ERR-2.3
	}{
		{"not HL7", "GET / HTTP/1.1", hl7v2.AR, hl7v2.CodeSegmentSequence, "", 0},
		{"FHIR JSON", `{"resourceType":"Observation"}`, hl7v2.AR, hl7v2.CodeSegmentSequence, "", 0},
		{"bad encoding characters", "MSH|^~|X", hl7v2.AR, hl7v2.CodeDataType, "MSH", 2},
		{"an ADT", replace(monitor, "ORU^R01^ORU_R01", "ADT^A01^ADT_A01"), hl7v2.AR, hl7v2.CodeUnsupportedMessage, "MSH", 9},
		{"an ORU of another event", replace(monitor, "ORU^R01^ORU_R01", "ORU^R30^ORU_R30"), hl7v2.AR, hl7v2.CodeUnsupportedEvent, "MSH", 9},
		{"no control id", replace(monitor, "|MSG00001|", "||"), hl7v2.AR, hl7v2.CodeRequiredMissing, "MSH", 10},
		{"an unknown processing id", replace(monitor, "|MSG00001|P|", "|MSG00001|Q|"), hl7v2.AR, hl7v2.CodeUnsupportedProcID, "MSH", 11},
		{"version 2.1", replace(monitor, "|P|2.6|", "|P|2.1|"), hl7v2.AR, hl7v2.CodeUnsupportedVersion, "MSH", 12},
		{"no PID", replace(monitor, "PID|", "ZPI|"), hl7v2.AR, hl7v2.CodeSegmentSequence, "", 0},
		{"OBX before OBR", "MSH|^~\\&|A||||20260301120000+0100||ORU^R01^ORU_R01|X1|P|2.6\rPID|||" + fnr + "^^^FNR\rOBX|1|NM|150456^^MDC||97|||||F\rOBR|1", hl7v2.AR, hl7v2.CodeSegmentSequence, "OBX", 0},
		{"an unknown patient", replace(monitor, fnr, "01010112345"), hl7v2.AE, hl7v2.CodeUnknownKey, "PID", 3},
		{"no patient identifier", replace(monitor, fnr+"^^^&2.16.578.1.12.4.1.4.1&ISO^NNNOR", ""), hl7v2.AE, hl7v2.CodeRequiredMissing, "PID", 3},
		{"a number that is none", replace(monitor, "|97|", "|9x7|"), hl7v2.AE, hl7v2.CodeDataType, "OBX", 5},
		{"an unknown result status", replace(monitor, "|90-100|N|||R|", "|90-100|N|||Q|"), hl7v2.AE, hl7v2.CodeTableValue, "OBX", 11},
		{"a malformed OBX-14", replace(monitor, "|20260301115959+0100||||0123456789ABCDEF^^^EUI-64\rNTE", "|2026030111595||||0123456789ABCDEF^^^EUI-64\rNTE"), hl7v2.AE, hl7v2.CodeDataType, "OBX", 14},
		{"a value without its type", replace(monitor, "|NM|150456", "||150456"), hl7v2.AE, hl7v2.CodeRequiredMissing, "OBX", 2},
		{"no values at all", "MSH|^~\\&|A||||20260301120000+0100||ORU^R01^ORU_R01|X2|P|2.6\rPID|||" + fnr + "^^^FNR\rOBR|1", hl7v2.AE, hl7v2.CodeRequiredMissing, "", 0},
	}
	e := newEnv(t, Config{})
	before := e.count(t)
	for _, tt := range tests {
		m, ps := e.c.Handle(context.Background(), sandbox, []byte(tt.msg))
		ack := ackOf(m, ps)
		if got := ack.Segment("MSA").Get(1, 1); got != tt.ack {
			t.Errorf("%s: MSA-1 %s, want %s (%+v)", tt.name, got, tt.ack, ps)
			continue
		}
		err := ack.Segment("ERR")
		if err == nil {
			t.Errorf("%s: no ERR", tt.name)
			continue
		}
		if err.Get(3, 1) != tt.code || err.Get(2, 1) != tt.seg || (tt.field > 0 && err.Get(2, 3) != fmt.Sprint(tt.field)) || err.Get(4, 1) != hl7v2.SeverityError || err.Field(8).String() == "" {
			t.Errorf("%s: ERR %q, want code %s at %s-%d, severity E and a text", tt.name, err.Fields, tt.code, tt.seg, tt.field)
		}
		if m != nil && tt.ack != hl7v2.AR && ack.Segment("MSA").Get(2, 1) != m.Segment("MSH").Field(10).String() {
			t.Errorf("%s: MSA-2 does not echo MSH-10", tt.name)
		}
	}
	if after := e.count(t); after != before {
		t.Errorf("refused messages stored %d resources", after-before)
	}
	// A refused message may be sent again, corrected, under the same id.
	if _, ps := e.c.Handle(context.Background(), sandbox, []byte(monitor)); ps.ack() != hl7v2.AA {
		t.Errorf("the corrected message: %+v", ps)
	}
}

func TestHandle_WaveformSkippedWithAWarning_CancelledResultStoredWithoutValue(t *testing.T) {
	e := newEnv(t, Config{})
	msg := replace(string(testdata(t, "pcd01-monitor.hl7")), "OBX|9|NM|150364^MDC_TEMP_BODY^MDC|1.3.1.1|37.2|268192^MDC_DIM_DEGC^MDC|||||R|",
		"OBX|9|NM|150364^MDC_TEMP_BODY^MDC|1.3.1.1||268192^MDC_DIM_DEGC^MDC|||||X|")
	msg += "OBX|10|NA|131330^MDC_ECG_ELEC_POTL_II^MDC|1.4.1.1|1^2^3^2^1|266418^MDC_DIM_MILLI_VOLT^MDC|||||R|||20260301115959+0100||||0123456789ABCDEF^^^EUI-64\r"
	_, ps := e.c.Handle(context.Background(), sandbox, []byte(msg))
	if ps.ack() != hl7v2.AA || len(ps) != 1 || ps[0].err.Segment != "OBX" || ps[0].err.Sequence != 10 || ps[0].err.Severity != hl7v2.SeverityWarning {
		t.Fatalf("problems %+v, want AA with a warning on OBX 10", ps)
	}
	obs := e.search(t, "Observation", url.Values{"code": {"http://loinc.org|8310-5"}})
	if len(obs) != 1 || obs[0]["status"] != "cancelled" || obs[0]["dataAbsentReason"] == nil || obs[0]["valueQuantity"] != nil {
		t.Errorf("temperature %v, want cancelled without a value", obs)
	}
	if n := e.total(t, "Observation"); n != 4 {
		t.Errorf("%d Observations, want 4 (the waveform is not stored)", n)
	}
}

func replace(s, old, new string) string {
	out := bytes.Replace([]byte(s), []byte(old), []byte(new), 1)
	if string(out) == s {
		panic("replace: " + old + " is not in the message")
	}
	return string(out)
}

// serve serves the connector on a free loopback port until the test ends.
func serve(t testing.TB, c *Connector) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(connectors.WithCaller(context.Background(), connectors.Caller{Sandbox: sandbox}))
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return l.Addr().String()
}

// roundTrip sends msg on conn and returns MSA-1 and MSA-2 of the answer.
func roundTrip(t testing.TB, conn net.Conn, r *mllp.Reader, msg []byte) (string, string) {
	t.Helper()
	if err := mllp.WriteFrame(conn, msg); err != nil {
		t.Fatal(err)
	}
	ans, err := r.ReadFrame()
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	ack, err := hl7v2.Parse(ans)
	if err != nil {
		t.Fatalf("answer %q: %v", ans, err)
	}
	return ack.Segment("MSA").Get(1, 1), ack.Segment("MSA").Get(2, 1)
}

func dialT(t testing.TB, addr string) (net.Conn, *mllp.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	return conn, mllp.NewReader(conn, 0)
}

func TestListener_ManyConcurrentConnections_EachMessageAcknowledgedOnItsOwn(t *testing.T) {
	e := newEnv(t, Config{})
	addr := serve(t, e.c)
	const conns, perConn = 8, 4
	monitor := string(testdata(t, "pcd01-monitor.hl7"))
	var wg sync.WaitGroup
	for i := range conns {
		conn, r := dialT(t, addr)
		wg.Go(func() {
			for j := range perConn {
				id := fmt.Sprintf("C%02d-%02d", i, j)
				code, echoed := roundTrip(t, conn, r, []byte(replace(monitor, "MSG00001", id)))
				if code != hl7v2.AA || echoed != id {
					t.Errorf("message %s answered %s for %s", id, code, echoed)
				}
			}
		})
	}
	wg.Wait()
	if n := e.total(t, "Observation"); n != conns*perConn*4 {
		t.Errorf("%d Observations, want %d", n, conns*perConn*4)
	}
	if n := len(e.search(t, "Device", nil)); n != 2 {
		t.Errorf("%d Devices, want the monitor and its gateway once each", n)
	}
}

func TestListener_MalformedInput_AnsweredAndTheListenerServesOn(t *testing.T) {
	e := newEnv(t, Config{})
	addr := serve(t, e.c)
	monitor := testdata(t, "pcd01-monitor.hl7")
	bad := [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),                  // no frame at all
		{mllp.StartBlock, 'M', 'S', 'H', mllp.EndBlock, 'x'},         // end block without CR
		{mllp.StartBlock, 'a', mllp.StartBlock, mllp.EndBlock, '\r'}, // a start block inside
	}
	for _, b := range bad {
		conn, _ := dialT(t, addr)
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
		// Answered with an AR, then hung up on.
		r := mllp.NewReader(bufio.NewReader(conn), 0)
		ans, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("%q: no answer: %v", b, err)
		}
		if ack, err := hl7v2.Parse(ans); err != nil || ack.Segment("MSA").Get(1, 1) != hl7v2.AR {
			t.Errorf("%q answered %q", b, ans)
		}
		if _, err := r.ReadFrame(); err == nil {
			t.Errorf("%q: the connection stays open", b)
		}
	}
	// A peer that opens a frame and goes quiet holds only its own connection.
	quiet, _ := dialT(t, addr)
	if _, err := quiet.Write([]byte{mllp.StartBlock, 'M', 'S', 'H'}); err != nil {
		t.Fatal(err)
	}
	// Too large: refused, and nothing stored.
	big, bigR := dialT(t, addr)
	huge := append([]byte("MSH|^~\\&|"), bytes.Repeat([]byte("x"), MaxMessageBytes+10)...)
	go func() { _ = mllp.WriteFrame(big, huge) }()
	if ans, err := bigR.ReadFrame(); err != nil || !bytes.Contains(ans, []byte("MSA|AR|")) {
		t.Errorf("an oversized frame answered %.80q, %v", ans, err)
	}
	conn, r := dialT(t, addr)
	if code, _ := roundTrip(t, conn, r, monitor); code != hl7v2.AA {
		t.Fatalf("after malformed input the listener answers %s", code)
	}
}

func TestListener_SenderThatDoesNotAwaitTheACK_Flagged(t *testing.T) {
	e := newEnv(t, Config{})
	addr := serve(t, e.c)
	monitor := string(testdata(t, "pcd01-monitor.hl7"))
	conn, r := dialT(t, addr)
	var both bytes.Buffer
	_ = mllp.WriteFrame(&both, []byte(replace(monitor, "MSG00001", "P1")))
	_ = mllp.WriteFrame(&both, []byte(replace(monitor, "MSG00001", "P2")))
	if _, err := conn.Write(both.Bytes()); err != nil {
		t.Fatal(err)
	}
	var acks [][]byte
	for range 2 {
		ans, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, ans)
	}
	x := &connectors.Exchange{Connector: ID, Channel: "mllp", Request: []byte(replace(monitor, "MSG00001", "P2")), Response: acks[1]}
	if res := judgeByID("mtu-ack-awaited", x); res.Verdict != connectors.Fail {
		t.Errorf("the pipelined message judged %v; its ACK %q", res.Verdict, acks[1])
	}
	x.Response = acks[0]
	if res := judgeByID("mtu-ack-awaited", x); res.Verdict != connectors.Pass {
		t.Errorf("the first message judged %v", res.Verdict)
	}
}
