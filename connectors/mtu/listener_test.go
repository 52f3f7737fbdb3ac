package mtu

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors/hl7v2"
	"hpsandbox/connectors/mllp"
	"hpsandbox/fhirstore"
)

func TestListener_ConformanceFindings_InTheACKAsWarnings(t *testing.T) {
	e := newEnv(t, Config{})
	addr := serve(t, e.c)
	conn, r := dialT(t, addr)
	msg := replace(string(testdata(t, "pcd01-monitor.hl7")), "|R|||20260301115959+0100||||0123456789ABCDEF^^^EUI-64\rNTE", "|R|||20260301115959||||0123456789ABCDEF^^^EUI-64\rNTE")
	if err := mllp.WriteFrame(conn, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	ans, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	ack, err := hl7v2.Parse(ans)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Segment("MSA").Get(1, 1) != hl7v2.AA {
		t.Fatalf("ACK %q, want AA: a check's finding does not refuse the message", ans)
	}
	var found bool
	for _, s := range ack.Segments {
		if s.Name == "ERR" && s.Get(5, 1) == "mtu-obx-timestamp" {
			found = true
			if s.Get(4, 1) != hl7v2.SeverityWarning || s.Field(2).Raw() != "OBX^3^14" {
				t.Errorf("ERR %q, want a warning at OBX^3^14", s.Fields)
			}
		}
	}
	if !found {
		t.Errorf("ACK %q names no mtu-obx-timestamp finding", ans)
	}
}

func TestListener_WritesIntoItsOwnSandboxWhateverMSHNames(t *testing.T) {
	e := newEnv(t, Config{})
	addr := serve(t, e.c)
	conn, r := dialT(t, addr)
	// MSH-5/6 name another sandbox; the listener was configured for ours.
	msg := replace(string(testdata(t, "pcd01-monitor.hl7")), "|HPSANDBOX|default|", "|HPSANDBOX|other|")
	if code, _ := roundTrip(t, conn, r, []byte(msg)); code != hl7v2.AA {
		t.Fatalf("answered %s", code)
	}
	if n := e.total(t, "Observation"); n != 4 {
		t.Errorf("%d Observations in the listener's sandbox", n)
	}
	page, err := e.engine.Search(context.Background(), "other", "Observation", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Matches) != 0 {
		t.Errorf("%d Observations in the sandbox MSH-6 names", len(page.Matches))
	}
	// And it finds no patient of another sandbox.
	other := replace(replace(string(testdata(t, "pcd01-monitor.hl7")), fnr, "13097248022"), "MSG00001", "MSG-X")
	if _, err := e.engine.Create(context.Background(), "other", []byte(`{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13097248022"}]}`)); err != nil {
		t.Fatal(err)
	}
	if code, _ := roundTrip(t, conn, r, []byte(other)); code != hl7v2.AE {
		t.Errorf("a patient of another sandbox answered %s, want AE", code)
	}
}

type noEngine struct{}

var errNoEngine = errors.New("no engine")

func (noEngine) Create(context.Context, fhirstore.Sandbox, []byte) (*fhirstore.Resource, error) {
	return nil, errNoEngine
}
func (noEngine) Transaction(context.Context, fhirstore.Sandbox, []byte) ([]byte, error) {
	return nil, errNoEngine
}
func (noEngine) Update(context.Context, fhirstore.Sandbox, []byte, int64) (*fhirstore.Resource, error) {
	return nil, errNoEngine
}
func (noEngine) Read(context.Context, fhirstore.Sandbox, string, string) (*fhirstore.Resource, error) {
	return nil, errNoEngine
}
func (noEngine) Search(context.Context, fhirstore.Sandbox, string, url.Values) (*fhirstore.SearchPage, error) {
	return nil, errNoEngine
}

func TestListener_ConnectionsBeyondTheBound_RefusedOthersServed(t *testing.T) {
	e := newEnv(t, Config{MaxConnections: 2})
	addr := serve(t, e.c)
	monitor := string(testdata(t, "pcd01-monitor.hl7"))
	c1, r1 := dialT(t, addr)
	c2, r2 := dialT(t, addr)
	if code, _ := roundTrip(t, c1, r1, []byte(monitor)); code != hl7v2.AA {
		t.Fatalf("first connection: %s", code)
	}
	if code, _ := roundTrip(t, c2, r2, []byte(replace(monitor, "MSG00001", "MSG00002"))); code != hl7v2.AA {
		t.Fatalf("second connection: %s", code)
	}
	c3, r3 := dialT(t, addr)
	ans, err := r3.ReadFrame()
	if err != nil || !strings.Contains(string(ans), "MSA|AR|") {
		t.Fatalf("a third connection answered %q, %v", ans, err)
	}
	if _, err := r3.ReadFrame(); err == nil {
		t.Error("the third connection stays open")
	}
	c3.Close()
	c2.Close()
	// Room again once one closes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c4, r4 := dialT(t, addr)
		if err := mllp.WriteFrame(c4, []byte(replace(monitor, "MSG00001", "MSG00004"))); err != nil {
			t.Fatal(err)
		}
		ans, err := r4.ReadFrame()
		if err == nil && strings.Contains(string(ans), "MSA|AA|") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a connection closed: %q %v", ans, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
