package mtu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/connectors"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// vouchingEngine records the last transaction and whether the connector
// vouched for it.
type vouchingEngine struct {
	recordingEngine
	vouched *bool
}

func (e vouchingEngine) Transaction(ctx context.Context, s fhirstore.Sandbox, b []byte) ([]byte, error) {
	*e.vouched = false
	return e.recordingEngine.Transaction(ctx, s, b)
}

func (e vouchingEngine) ValidatedTransaction(ctx context.Context, s fhirstore.Sandbox, b []byte) ([]byte, error) {
	*e.vouched = true
	return e.recordingEngine.Transaction(ctx, s, b)
}

func newVouching(t testing.TB) (*Connector, *[]byte, *bool) {
	t.Helper()
	var sent []byte
	var vouched bool
	c, err := Opener(Config{RegisterPatients: true})(connectors.Deps{Engine: vouchingEngine{recordingEngine{sent: &sent}, &vouched}})
	if err != nil {
		t.Fatal(err)
	}
	return c.(*Connector), &sent, &vouched
}

// validR4 reports why a transaction the connector vouched for is not what
// fhirjson takes: the Bundle without its resources, and each resource.
func validR4(bundle []byte) error {
	shell, resources, err := fhirjson.SplitBundle(bundle)
	if err != nil {
		return err
	}
	if _, err := fhirjson.Parse(shell); err != nil {
		return fmt.Errorf("the Bundle: %w", err)
	}
	for i, r := range resources {
		if _, err := fhirjson.Parse(r); err != nil {
			return fmt.Errorf("entry %d: %w\n%s", i, err, r)
		}
	}
	return nil
}

// metricMessage is a PCD-01 message of one OBX: metric m measured as unit
// (an MDC unit code, or "" for the metric's UCUM unit written as UCUM).
func metricMessage(id string, m metric, unitCode string) []byte {
	unit := unitCode + "^^MDC"
	if unitCode == "" {
		unit = m.UCUM + "^^UCUM"
	}
	return []byte("MSH|^~\\&|Sim^ACDE48234567ABCD^EUI-64||HPSANDBOX|default|20260301120000+0100||ORU^R01^ORU_R01|" + id + "|P|2.6|||AL|NE\r" +
		"PID|||" + fnr + "^^^&2.16.578.1.12.4.1.4.1&ISO^NNNOR||Nordmann^Kari||19780124|F\r" +
		"OBR|1|||182777000^monitoring of patient^SNOMED-CT|||20260301115950+0100\r" +
		"OBX|1|NM|" + m.MDC + "^" + m.RefID + "^MDC|1.1.1.1|72.5|" + unit + "|60-100|N|||F|||20260301115959+0100||||0123456789ABCDEF^^^EUI-64\r" +
		"NTE|1||measured at rest\r")
}

// Every row of the mapping tables makes a transaction that the connector
// vouches for and that fhirjson, the engine's validator, takes in full:
// the Bundle and every resource (Patient, Devices, the Observation).
func TestVouched_EveryMappingTableRowIsValidR4(t *testing.T) {
	c, sent, vouched := newVouching(t)
	ucumToMDC := map[string]string{}
	for _, u := range unitRows() {
		ucumToMDC[u.UCUM] = u.MDC
	}
	for i, m := range metricRows() {
		for _, unitCode := range []string{ucumToMDC[m.UCUM], ""} {
			*sent, *vouched = nil, false
			_, ps := c.Handle(context.Background(), sandbox, metricMessage(fmt.Sprintf("T%d-%s", i, unitCode), m, unitCode))
			if ps.ack() != hl7v2.AA {
				t.Errorf("%s %s (%s): %+v", m.MDC, m.RefID, unitCode, ps)
				continue
			}
			if !*vouched {
				t.Errorf("%s %s (%s): the transaction was not vouched for", m.MDC, m.RefID, unitCode)
			}
			if err := validR4(*sent); err != nil {
				t.Errorf("%s %s (%s): %v", m.MDC, m.RefID, unitCode, err)
			}
		}
	}
}

// The messages of the test data (PCD-01, PCD-04 alerts, other versions
// and delimiters) make transactions that are valid R4 whenever the
// connector vouches for them, and it vouches for the usual ones.
func TestVouched_TestDataMessagesAreValidR4(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.hl7")
	more, _ := filepath.Glob("../hl7v2/testdata/*.hl7")
	c, sent, vouched := newVouching(t)
	n := 0
	for _, name := range append(files, more...) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		*sent, *vouched = nil, false
		if _, ps := c.Handle(context.Background(), sandbox, b); ps.ack() != hl7v2.AA {
			continue
		}
		if *vouched {
			n++
			if err := validR4(*sent); err != nil {
				t.Errorf("%s: vouched for, but %v", name, err)
			}
		}
	}
	if n < 2 {
		t.Errorf("%d messages vouched for, want the test data's PCD-01 and PCD-04 ones", n)
	}
}

// What a sender writes into a primitive that R4 refuses makes the
// connector leave the transaction to the engine's full validation, which
// refuses it: the message is answered AE and nothing is stored. A value
// whose form the connector does not vouch for but R4 takes is validated
// in full and stored. Nothing in a message chooses the engine's options.
func TestVouched_SenderValuesAreValidatedInFullUnlessVouchedFor(t *testing.T) {
	tests := []struct {
		name, from, to string
		stored         bool
	}{
		{"code with two spaces", "150456^MDC_PULS_OXIM_SAT_O2^MDC", "150  456^MDC_PULS_OXIM_SAT_O2^MDC", false},
		{"code with a leading space", "150456^MDC_PULS_OXIM_SAT_O2^MDC", " 150456^MDC_PULS_OXIM_SAT_O2^MDC", false},
		{"system with a space", "0123456789ABCDEF^^^EUI-64\r", "DEV1^^1.2 3^ISO\r", true},
		{"code with a control character", "150456^MDC_PULS_OXIM_SAT_O2^MDC", "150\x01456^MDC_PULS_OXIM_SAT_O2^MDC", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := strings.Replace(string(benchMessage("V1")), tt.from, tt.to, 1)
			if msg == string(benchMessage("V1")) {
				t.Fatal("the message is unchanged")
			}
			if vouchable(entriesOf(t, msg)) {
				t.Fatalf("%q was vouched for", tt.to)
			}
			e := newEnv(t, Config{})
			_, ps := e.c.Handle(context.Background(), sandbox, []byte(msg))
			stored := len(e.search(t, "Observation", nil))
			switch {
			case tt.stored && (ps.ack() != hl7v2.AA || stored != 2):
				t.Errorf("answered %s, %d Observations stored; want AA and 2", ps.ack(), stored)
			case !tt.stored && (ps.ack() != hl7v2.AE || stored != 0):
				t.Errorf("answered %s, %d Observations stored; want AE and none: %+v", ps.ack(), stored, ps)
			}
		})
	}
}

// entriesOf is what the connector makes of msg, before storing it.
func entriesOf(t *testing.T, msg string) []obj {
	t.Helper()
	c, sent, _ := newVouching(t)
	if _, ps := c.Handle(context.Background(), sandbox, []byte(msg)); ps.ack() != hl7v2.AA {
		t.Fatalf("the message is refused before storing: %+v", ps)
	}
	var b struct {
		Entry []obj `json:"entry"`
	}
	d := json.NewDecoder(strings.NewReader(string(*sent)))
	d.UseNumber()
	if err := d.Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Entry
}

// The primitives' forms, as R4 writes them.
func TestVouchString_Forms(t *testing.T) {
	tests := []struct {
		key, value string
		ok         bool
	}{
		{"code", "150456", true}, {"code", "a b", true}, {"code", "a  b", false}, {"code", " a", false}, {"code", "", false}, {"code", "a\tb", false},
		{"system", "urn:oid:1.2.3", true}, {"system", "urn:oid:1 2", false}, {"system", "", false},
		{"effectiveDateTime", "2026-03-01T11:59:59+01:00", true}, {"effectiveDateTime", "2026", true}, {"effectiveDateTime", "0000-01-01", false},
		{"effectiveDateTime", "2026-03-01T11:59", false}, {"birthDate", "1978-01-24", true},
		{"display", "SpO2 low", true}, {"display", "", false}, {"display", " x", false}, {"display", "a\x00b", false}, {"display", "line\nbreak", true},
		{"display", "\xff", false},
	}
	for _, tt := range tests {
		if got := vouchString(tt.key, tt.value); got != tt.ok {
			t.Errorf("%s %q: %v, want %v", tt.key, tt.value, got, tt.ok)
		}
	}
	if vouchValue("value", json.Number("01")) || !vouchValue("value", json.Number("-0.5")) || vouchValue("value", 1.5) {
		t.Error("decimal forms")
	}
}

// FuzzVouched: whatever a message makes, a transaction the connector
// vouches for is valid R4 as the engine's validator judges it.
func FuzzVouched(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.hl7")
	more, _ := filepath.Glob("../hl7v2/testdata/*.hl7")
	for _, name := range append(files, more...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(benchMessage("F1"))
	c, sent, vouched := newVouching(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		*sent, *vouched = nil, false
		if _, ps := c.Handle(context.Background(), "fuzz", b); ps.ack() != hl7v2.AA || !*vouched {
			return
		}
		if err := validR4(*sent); err != nil {
			t.Fatalf("vouched for, but %v\nmessage %q", err, b)
		}
	})
}
