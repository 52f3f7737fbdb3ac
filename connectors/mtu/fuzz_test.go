package mtu

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/fhirstore"
)

// FuzzHandle: any bytes are answered with an ACK that parses, a message
// refused writes nothing, and what is written is JSON; nothing panics.
func FuzzHandle(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.hl7")
	more, _ := filepath.Glob("../hl7v2/testdata/*.hl7")
	for _, name := range append(files, more...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("MSH|^~\\&|A||||20260301||ORU^R40|1|P|2.6\rPID|||1^^^FNR\rOBR|1\rOBX|1|NM|1^^MDC|1.1|x\rOBX|2|CWE|2^^MDC||^"))
	var sent []byte
	eng := &recordingEngine{sent: &sent}
	c, err := Opener(Config{RegisterPatients: true})(connectors.Deps{Engine: eng})
	if err != nil {
		f.Fatal(err)
	}
	conn := c.(*Connector)
	f.Fuzz(func(t *testing.T, b []byte) {
		sent = nil
		m, ps := conn.Handle(context.Background(), "fuzz", b)
		ack := hl7v2.Ack(m, ps.ack(), "A1", time.Unix(0, 0), ps.errs())
		if _, err := hl7v2.Parse(ack.Bytes()); err != nil {
			t.Fatalf("the ACK does not parse: %v\n%q", err, ack.Bytes())
		}
		if ps.ack() != hl7v2.AA && sent != nil {
			t.Fatalf("a message answered %s was written", ps.ack())
		}
		if sent != nil && !json.Valid(sent) {
			t.Fatalf("the transaction is not JSON: %s", sent)
		}
		x := &connectors.Exchange{Connector: ID, Channel: "mllp", Request: b}
		for _, p := range conn.findings(x, m, ps) {
			if p.ack != "" || p.err.AppCode == "" {
				t.Fatalf("a finding %+v refuses the message or names no check", p)
			}
		}
	})
}

// recordingEngine keeps the last transaction and finds no patient.
type recordingEngine struct {
	noEngine
	sent *[]byte
}

func (recordingEngine) Search(context.Context, fhirstore.Sandbox, string, url.Values) (*fhirstore.SearchPage, error) {
	return &fhirstore.SearchPage{}, nil
}

func (e recordingEngine) Transaction(_ context.Context, _ fhirstore.Sandbox, b []byte) ([]byte, error) {
	*e.sent = b
	return []byte(`{"resourceType":"Bundle","type":"transaction-response","entry":[]}`), nil
}

// FuzzChecks: every check judges any message without panicking, and a
// failure says why.
func FuzzChecks(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.hl7")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte("MSH|^~\\&|||||20260301||ACK|1|P|2.6\rMSA|AA|1\rERR||OBX^1^5|205|W|HPS-PIPELINED"))
	}
	c, err := Open(connectors.Deps{Engine: noEngine{}})
	if err != nil {
		f.Fatal(err)
	}
	conn := c.(*Connector)
	checks := conn.Checks()
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		x := &connectors.Exchange{Connector: ID, Channel: "mllp", Request: req, Response: resp}
		for _, ch := range checks {
			if res := ch.Judge(x); res.Verdict == connectors.Fail && len(res.Issues) == 0 {
				t.Fatalf("%s fails without saying why", ch.ID)
			}
		}
	})
}
