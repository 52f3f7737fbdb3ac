package mtu

import (
	"bytes"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/sandbox/requestlog"
)

// exchangeOf is the exchange the listener records for msg answered as ps
// says.
func exchangeOf(msg []byte, m *hl7v2.Message, ps problems) *connectors.Exchange {
	return &connectors.Exchange{Sandbox: sandbox, Connector: ID, Channel: requestlog.ChannelMLLP, Kind: "ORU^R01",
		Request: msg, Response: hl7v2.Ack(m, ps.ack(), "A1", time.Now(), ps.errs()).Bytes(), Ack: ps.ack()}
}

func verdicts(c *Connector, x *connectors.Exchange) map[string]connectors.Result {
	out := map[string]connectors.Result{}
	for _, ch := range c.Checks() {
		out[ch.ID] = ch.Judge(x)
	}
	return out
}

func TestChecks_ConformingMessages_PassEveryCheck(t *testing.T) {
	e := newEnv(t, Config{})
	for _, name := range []string{"pcd01-monitor.hl7", "pcd04-spo2-low.hl7"} {
		msg := testdata(t, name)
		m, ps := e.c.Handle(t.Context(), sandbox, msg)
		for id, res := range verdicts(e.c, exchangeOf(msg, m, ps)) {
			if res.Verdict != connectors.Pass {
				t.Errorf("%s: %s = %v %+v, want pass", name, id, res.Verdict, res.Issues)
			}
		}
	}
}

func TestChecks_EachRuleFailsOnItsFault(t *testing.T) {
	monitor := testdata(t, "pcd01-monitor.hl7")
	tests := []struct {
		check    string
		from, to string // the fault, as a change to the conforming message
		at       string // the expression of the first issue
	}{
		{"mtu-msh-header", "ORU^R01^ORU_R01", "ORU^R01", "MSH-9.3"},
		{"mtu-msh-header", "|P|2.6|", "|P|2.5|", "MSH-12"},
		{"mtu-pid-assigning-authority", "24017845396^^^&2.16.578.1.12.4.1.4.1&ISO^NNNOR", "24017845396", "PID-3[1].4"},
		{"mtu-obx-value-type", "|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97|", "|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|high|", "OBX[3]-5"},
		{"mtu-obx-value-type", "|NM|150456", "|XX|150456", "OBX[3]-2"},
		{"mtu-obx-units", "|97|262688^MDC_DIM_PERCENT^MDC|", "|97||", "OBX[3]-6"},
		{"mtu-obx-units", "|97|262688^MDC_DIM_PERCENT^MDC|", "|97|999^MDC_DIM_NOTHING^MDC|", "OBX[3]-6"},
		{"mtu-obx-timestamp", "|R|||20260301115959+0100||||0123456789ABCDEF^^^EUI-64\rNTE", "|R|||20260301115959||||0123456789ABCDEF^^^EUI-64\rNTE", "OBX[3]-14"},
		{"mtu-obx-equipment", "|R|||20260301115959+0100||||0123456789ABCDEF^^^EUI-64\rNTE", "|R|||20260301115959+0100||||\rNTE", "OBX[3]-18"},
		{"mtu-obx-codes", "|90-100|N|||R|", "|90-100|N|||Q|", "OBX[3]-11"},
		{"mtu-obx-codes", "|90-100|N|||R|", "|90-100|ZZ|||R|", "OBX[3]-8"},
		{"mtu-ack-mode", "|||AL|NE|", "|||NE|AL|", "MSH-15"},
	}
	c := newEnv(t, Config{}).c
	for _, tt := range tests {
		msg := bytes.Replace(monitor, []byte(tt.from), []byte(tt.to), 1)
		if bytes.Equal(msg, monitor) {
			t.Fatalf("%s: %q is not in the message", tt.check, tt.from)
		}
		m, err := hl7v2.Parse(msg)
		if err != nil {
			t.Fatal(err)
		}
		res := verdicts(c, exchangeOf(msg, m, nil))[tt.check]
		if res.Verdict != connectors.Fail || len(res.Issues) == 0 || res.Issues[0].Expression[0] != tt.at {
			t.Errorf("%s on %q: %v %+v, want a failure at %s", tt.check, tt.to, res.Verdict, res.Issues, tt.at)
		}
	}
}

func TestChecks_NotAboutOtherExchanges(t *testing.T) {
	c := newEnv(t, Config{}).c
	for _, x := range []*connectors.Exchange{
		{},
		{Connector: "example", Channel: requestlog.ChannelMLLP, Request: testdata(t, "pcd01-monitor.hl7")},
		{Connector: ID, Channel: requestlog.ChannelHTTP, Request: testdata(t, "pcd01-monitor.hl7")},
		{Connector: ID, Channel: requestlog.ChannelMLLP, Request: []byte("not HL7")},
		{Connector: ID, Channel: requestlog.ChannelMLLP, Request: []byte("MSH|^~\\&|A||||20260301||ADT^A01|1|P|2.6")},
	} {
		for id, res := range verdicts(c, x) {
			if res.Verdict != connectors.NotApplicable {
				t.Errorf("%s judged %+v: %v", id, x, res.Verdict)
			}
		}
	}
}

// judgeByID judges x by the check of that id.
func judgeByID(id string, x *connectors.Exchange) connectors.Result {
	c := &Connector{}
	for _, ch := range c.Checks() {
		if ch.ID == id {
			return ch.Judge(x)
		}
	}
	panic("no check " + id)
}
