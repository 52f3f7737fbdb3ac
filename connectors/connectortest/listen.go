package connectortest

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/connectors/mllp"
	"hpsandbox/sandbox/requestlog"
)

// listen serves the connector's listener on a free local port for
// SandboxA; the test stops it.
func (e *env) listen(ctx context.Context) (*connectors.Listeners, string) {
	e.t.Helper()
	ls, err := e.set.Listen(ctx, []connectors.Listen{{Connector: e.c.ID(), Addr: "127.0.0.1:0", Sandbox: SandboxA}})
	if err != nil {
		e.t.Fatal(err)
	}
	return ls, ls.Addrs()[0].String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	return conn
}

// settledGoroutines waits until at most n goroutines run, and returns how
// many do.
func settledGoroutines(n int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := runtime.NumGoroutine()
		if got <= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testListenerStops(t *testing.T, s Subject) {
	e := newEnv(t, s)
	if _, ok := e.c.(connectors.ListenConnector); !ok {
		t.Skip("the connector serves no listener")
	}
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	ls, addr := e.listen(ctx)
	// One connection idle, one inside a frame: stopping must not wait for
	// either peer.
	idle := dial(t, addr)
	defer idle.Close()
	partial := dial(t, addr)
	defer partial.Close()
	if _, err := partial.Write([]byte{mllp.StartBlock, 'M', 'S', 'H'}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let both be accepted
	cancel()
	// The context alone stops it: the server closes both connections.
	for _, conn := range []net.Conn{idle, partial} {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Error("a connection is still open after the listener's context ended")
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Error("a connection is still open 5s after the listener's context ended")
		}
	}
	done := make(chan error, 1)
	go func() { done <- ls.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the listener stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not stop within 10s of its context ending")
	}
	if n := settledGoroutines(base); n > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before serving, %d after stopping:\n%s", base, n, buf[:runtime.Stack(buf, true)])
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the address still accepts connections")
	}
}

// exchange sends msg in a frame and reads the answering frame.
func exchange(t *testing.T, conn net.Conn, r *mllp.Reader, msg []byte) []byte {
	t.Helper()
	if err := mllp.WriteFrame(conn, msg); err != nil {
		t.Fatal(err)
	}
	ans, err := r.ReadFrame()
	if err != nil {
		t.Fatalf("no answer to %.60q: %v", msg, err)
	}
	return ans
}

func testListenerExchanges(t *testing.T, s Subject) {
	e := newEnv(t, s)
	if _, ok := e.c.(connectors.ListenConnector); !ok {
		t.Skip("the connector serves no listener")
	}
	if len(s.ValidFrames) == 0 {
		t.Fatal("Subject.ValidFrames is empty: give a message the listener accepts")
	}
	ls, addr := e.listen(context.Background())
	defer ls.Close()
	conn := dial(t, addr)
	defer conn.Close()
	r := mllp.NewReader(bufio.NewReader(conn), 0)

	invalid := append(append([][]byte(nil), s.InvalidFrames...), badBodies[1:]...)
	for _, msg := range invalid {
		if ans := exchange(t, conn, r, msg); !isOutcome(ans) && !isNegativeAck(ans) {
			t.Errorf("message %.40q: answer %.200q is neither an OperationOutcome nor an HL7 v2 ACK refusing it", msg, ans)
		}
	}
	if n := e.versions(SandboxA); n != 0 {
		t.Fatalf("invalid messages stored %d versions", n)
	}
	for _, msg := range s.ValidFrames {
		before := e.versions(SandboxA)
		exchange(t, conn, r, msg)
		if e.versions(SandboxA) <= before {
			t.Errorf("message %.60q stored nothing", msg)
		}
	}
	// Bytes that are no frame: answered or not, the connection ends and
	// the exchange is recorded.
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := r.ReadFrame(); err != nil {
			break
		}
	}

	want := len(invalid) + len(s.ValidFrames) + 1
	var got []requestlog.Entry
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		got = e.entries(SandboxA)
		time.Sleep(10 * time.Millisecond)
	}
	if len(got) != want {
		t.Fatalf("%d entries in the request log, want one for each of the %d messages", len(got), want)
	}
	for i, en := range got {
		wantErr := i < len(invalid) || i == want-1
		if en.Connector != e.c.ID() || en.Channel != requestlog.ChannelMLLP || en.Method == "" || en.Path == "" ||
			(en.Status >= 400) != wantErr || en.Time.IsZero() {
			t.Errorf("entry %d = %+v; want connector %s, channel mllp, a kind, a path and an error %v", i, en, e.c.ID(), wantErr)
		}
		if wantErr && len(en.Issues) == 0 {
			t.Errorf("entry %d of a refused message keeps no issues", i)
		}
	}
	if n := e.versions(SandboxB); n != 0 {
		t.Errorf("a listener of %s wrote into %s", SandboxA, SandboxB)
	}
}

func testChecks(t *testing.T, s Subject) {
	e := newEnv(t, s)
	cc, ok := e.c.(connectors.CheckConnector)
	if !ok {
		t.Skip("the connector contributes no checks")
	}
	seen := map[string]bool{}
	for _, ch := range cc.Checks() {
		if ch.ID == "" || ch.Description == "" || ch.Judge == nil {
			t.Errorf("check %+v: want an id, a description and a Judge", ch)
			continue
		}
		if !strings.HasPrefix(ch.ID, e.c.ID()+"-") {
			t.Errorf("check id %s does not start with %s-, which keeps ids unique among connectors", ch.ID, e.c.ID())
		}
		if seen[ch.ID] {
			t.Errorf("check id %s is used twice", ch.ID)
		}
		seen[ch.ID] = true
	}
	// Every check judges any exchange without panicking, and is not about
	// exchanges of other connectors.
	var xs []*connectors.Exchange
	xs = append(xs, &connectors.Exchange{}, &connectors.Exchange{Connector: "another", Status: http.StatusCreated})
	for _, req := range s.Valid {
		xs = append(xs, &connectors.Exchange{Sandbox: SandboxA, Connector: e.c.ID(), Channel: requestlog.ChannelHTTP,
			Kind: req.Method, Path: req.Path, Status: http.StatusCreated, Request: req.Body})
	}
	for _, b := range badBodies {
		xs = append(xs, &connectors.Exchange{Connector: e.c.ID(), Status: http.StatusCreated, Request: b},
			&connectors.Exchange{Connector: e.c.ID(), Status: http.StatusBadRequest, Request: b})
	}
	for _, ch := range cc.Checks() {
		for i, x := range xs {
			var res connectors.Result
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("check %s panicked on exchange %d: %v", ch.ID, i, p)
					}
				}()
				res = ch.Judge(x)
			}()
			if i < 2 && res.Verdict != connectors.NotApplicable {
				t.Errorf("check %s judged exchange %d (%+v) %v, want not-applicable", ch.ID, i, x, res.Verdict)
			}
			if res.Verdict == connectors.Fail && len(res.Issues) == 0 {
				t.Errorf("check %s failed exchange %d without saying why", ch.ID, i)
			}
		}
	}
}

func testStarter(t *testing.T, s Subject) {
	e := newEnv(t, s)
	if _, ok := e.c.(connectors.Starter); !ok {
		t.Skip("the connector does not start or stop")
	}
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.set.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.set.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := settledGoroutines(base); n > base {
		t.Fatalf("%d goroutines before Start, %d after Stop", base, n)
	}
}

// isNegativeAck reports whether msg is an HL7 v2 acknowledgment that
// refuses a message: an MSA whose MSA-1 is AE, AR, CE or CR, the answer
// of listeners that speak HL7 v2.
func isNegativeAck(msg []byte) bool {
	m, err := hl7v2.Parse(msg)
	if err != nil {
		return false
	}
	switch m.Segment("MSA").Get(1, 1) {
	case "AE", "AR", "CE", "CR":
		return true
	}
	return false
}
