package mtu

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/sandbox/conformance"
)

// A device's messages, judged as the conformance engine judges them: the
// connector's checks in a run of profile connector-mtu, rendered as a
// TestReport and JUnit.
func TestChecks_InAConformanceRunAndReport(t *testing.T) {
	e := newEnv(t, Config{})
	good := testdata(t, "pcd01-monitor.hl7")
	noZone := []byte(replace(replace(string(good), "MSG00001", "MSG00002"),
		"|R|||20260301115959+0100||||0123456789ABCDEF^^^EUI-64\rNTE", "|R|||20260301115959||||0123456789ABCDEF^^^EUI-64\rNTE"))
	var xs []*connectors.Exchange
	for _, msg := range [][]byte{good, noZone} {
		m, ps := e.c.Handle(t.Context(), sandbox, msg)
		xs = append(xs, exchangeOf(msg, m, ps))
	}
	reg := conformance.NewRegistry()
	if err := reg.AddConnector(ID, "Medical devices (IHE PCD-01)", e.c.Checks()); err != nil {
		t.Fatal(err)
	}
	run, err := reg.Evaluate("connector-"+ID, &conformance.Evidence{Sandbox: sandbox, Exchanges: xs}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range run.Outcomes {
		want := conformance.Pass
		if o.Check.ID == "mtu-obx-timestamp" {
			want = conformance.Fail
		}
		if o.Result.Status != want {
			t.Errorf("%s: %v (%s), want %v", o.Check.ID, o.Result.Status, o.Result.Message, want)
		}
	}
	if run.Passed() {
		t.Error("the run passed with a message timed without its zone")
	}
	if _, err := run.TestReport(); err != nil {
		t.Fatal(err)
	}
	var junit bytes.Buffer
	if err := run.WriteJUnit(&junit); err != nil || !strings.Contains(junit.String(), "mtu-obx-timestamp") {
		t.Errorf("JUnit %v:\n%.400s", err, junit.String())
	}
}
