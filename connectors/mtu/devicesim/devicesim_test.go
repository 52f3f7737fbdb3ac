package devicesim_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/connectors/mtu"
	"hpsandbox/connectors/mtu/devicesim"
	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/requestlog"
)

// noEngine lets the checks run without a store.
type noEngine struct{}

var errNo = errors.New("no engine")

func (noEngine) Create(context.Context, fhirstore.Sandbox, []byte) (*fhirstore.Resource, error) {
	return nil, errNo
}
func (noEngine) Transaction(context.Context, fhirstore.Sandbox, []byte) ([]byte, error) {
	return nil, errNo
}
func (noEngine) Update(context.Context, fhirstore.Sandbox, []byte, int64) (*fhirstore.Resource, error) {
	return nil, errNo
}
func (noEngine) Read(context.Context, fhirstore.Sandbox, string, string) (*fhirstore.Resource, error) {
	return nil, errNo
}
func (noEngine) Search(context.Context, fhirstore.Sandbox, string, url.Values) (*fhirstore.SearchPage, error) {
	return nil, errNo
}

var patient = devicesim.Patient{System: "urn:oid:2.16.578.1.12.4.1.4.1", Value: "24017845396"}

func run(t *testing.T, kind devicesim.Kind, seed uint64, n int) [][]byte {
	t.Helper()
	d, err := devicesim.New(devicesim.Config{Kind: kind, Patient: patient, Seed: seed, Sandbox: "default"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.FixedZone("", 3600))
	var out [][]byte
	for i := range n {
		out = append(out, d.Next(start.Add(time.Duration(i)*time.Minute), "T")...)
	}
	return out
}

func TestDevices_SameSeedSameStream_OtherSeedOther(t *testing.T) {
	for _, k := range devicesim.Kinds {
		a, b, c := run(t, k, 7, 50), run(t, k, 7, 50), run(t, k, 8, 50)
		if len(a) != len(b) {
			t.Fatalf("%s: %d and %d messages from one seed", k, len(a), len(b))
		}
		for i := range a {
			if !bytes.Equal(a[i], b[i]) {
				t.Fatalf("%s: message %d differs between runs of one seed", k, i)
			}
		}
		if bytes.Equal(a[0], c[0]) {
			t.Errorf("%s: seeds 7 and 8 give the same first message", k)
		}
	}
}

func TestDevices_MessagesPassEveryCheckAndStayPlausible(t *testing.T) {
	c, err := mtu.Open(connectors.Deps{Engine: noEngine{}})
	if err != nil {
		t.Fatal(err)
	}
	checks := c.(connectors.CheckConnector).Checks()
	ranges := map[string][2]float64{
		"150456": {50, 100}, "149530": {20, 250}, "147842": {20, 250}, "151562": {0, 80},
		"150021": {40, 280}, "150022": {20, 200}, "150364": {30, 43}, "188736": {2, 300}, "160184": {20, 600},
	}
	for _, k := range devicesim.Kinds {
		alerts, artefacts := 0, 0
		for _, msg := range run(t, k, 42, 1500) {
			m, err := hl7v2.Parse(msg)
			if err != nil {
				t.Fatalf("%s: %v\n%q", k, err, msg)
			}
			if m.Segment("MSH").Get(9, 2) == "R40" {
				alerts++
			}
			if m.Segment("NTE") != nil {
				artefacts++
			}
			for _, s := range m.Segments {
				if s.Name != "OBX" || s.Get(2, 1) != "NM" {
					continue
				}
				v, _ := strconv.ParseFloat(s.Get(5, 1), 64)
				if r, ok := ranges[s.Get(3, 1)]; !ok || v < r[0] || v > r[1] {
					t.Fatalf("%s: %s = %v outside %v", k, s.Get(3, 2), v, r)
				}
			}
			// Accepted as an AA would be: judged on the message alone.
			ack := hl7v2.Ack(m, hl7v2.AA, "A", time.Now(), nil).Bytes()
			x := &connectors.Exchange{Connector: mtu.ID, Channel: requestlog.ChannelMLLP, Request: msg, Response: ack, Ack: hl7v2.AA}
			for _, ch := range checks {
				if res := ch.Judge(x); res.Verdict == connectors.Fail {
					t.Fatalf("%s: %s fails: %+v\n%q", k, ch.ID, res.Issues, msg)
				}
			}
		}
		if artefacts == 0 {
			t.Errorf("%s: no artefact in 1500 readings", k)
		}
		if k != devicesim.Scale && alerts == 0 {
			t.Errorf("%s: no alarm in 1500 readings", k)
		}
	}
}

func TestParsePatient(t *testing.T) {
	if p, err := devicesim.ParsePatient("24017845396"); err != nil || p != patient {
		t.Errorf("bare number: %+v %v", p, err)
	}
	if p, err := devicesim.ParsePatient("urn:oid:1.2.3|A1"); err != nil || p.System != "urn:oid:1.2.3" || p.Value != "A1" {
		t.Errorf("system|value: %+v %v", p, err)
	}
	for _, bad := range []string{"", "sys|", "a\rb"} {
		if _, err := devicesim.ParsePatient(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
