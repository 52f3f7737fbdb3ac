package mtu

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"hpsandbox/connectors"
	"hpsandbox/sandbox/requestlog"
)

// The verdicts recorded with an exchange, judged from the message the
// connector parsed, are those the checks give the same exchange read
// afresh from its bytes; nothing of it stays behind once recorded.
func TestRecord_VerdictsAsJudgedFromTheBytes(t *testing.T) {
	e := newEnv(t, Config{})
	var cur *connectors.Exchange
	var entries, judged int
	var c *Connector
	c = openRecorded(t, e, func(en requestlog.Entry) {
		entries++
		fresh := *cur // another Exchange: judged from its bytes
		want := connectors.Judge(c.Checks(), &fresh)
		if len(want) > 0 {
			judged++
		}
		if !reflect.DeepEqual(en.Verdicts, want) {
			t.Errorf("%q:\nrecorded verdicts %+v\nwant             %+v", cur.Request, en.Verdicts, want)
		}
	})
	files, _ := filepath.Glob("testdata/*.hl7")
	var msgs [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, b, b) // the second time a duplicate
	}
	msgs = append(msgs,
		benchMessage("R1"),
		[]byte("not a message"),
		[]byte("MSH|^~\\&|A||||20260301||ADT^A01|9|P|2.6\rPID|||1^^^FNR\r"),
		[]byte("MSH|^~\\&|A||||20260301||ORU^R01|10|P|2.6\rPID|||99999999999^^^FNR\rOBR|1\rOBX|1|NM|150456^^MDC|1.1|x\r"),
	)
	client, server := net.Pipe()
	go io.Copy(io.Discard, client)
	t.Cleanup(func() { client.Close(); server.Close() })
	caller := connectors.Caller{Sandbox: sandbox}
	for _, msg := range msgs {
		x := c.exchange(caller, "test", msg)
		m, ps := c.Handle(context.Background(), sandbox, msg)
		ps = append(ps, c.findings(x, m, ps)...)
		cur = x
		c.answer(server, x, m, ps)
	}
	if entries != len(msgs) {
		t.Errorf("%d exchanges recorded, want %d", entries, len(msgs))
	}
	if oru := 2*len(files) + 2; judged < oru {
		t.Errorf("%d exchanges judged, want the %d ORU messages", judged, oru)
	}
	n := 0
	c.recording.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d exchanges still held after they were recorded", n)
	}
}
