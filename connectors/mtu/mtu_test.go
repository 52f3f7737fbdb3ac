package mtu

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/connectortest"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

const sandbox = "mtu-test"

// fnr is the national identity number of the test patient; the test
// messages name it in PID-3.
const fnr = "24017845396"

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// env is the connector over a real store, with one patient.
type env struct {
	c       *Connector
	engine  *interaction.Engine
	store   fhirstore.Store
	patient string // Patient/id
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	engine := interaction.New(store, interaction.Config{BaseURL: "http://127.0.0.1/fhir"})
	c, err := Opener(cfg)(connectors.Deps{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.Create(ctx, sandbox, []byte(`{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"`+fnr+`"}],"name":[{"family":"Nordmann","given":["Kari"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return &env{c: c.(*Connector), engine: engine, store: store, patient: "Patient/" + p.ID}
}

// search returns the bodies of every match.
func (e *env) search(t testing.TB, typ string, params url.Values) []map[string]any {
	t.Helper()
	if params == nil {
		params = url.Values{}
	}
	params.Set("_count", "100")
	page, err := e.engine.Search(context.Background(), sandbox, typ, params)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, r := range page.Matches {
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// total counts the matches of a search.
func (e *env) total(t testing.TB, typ string) int {
	t.Helper()
	page, err := e.engine.Search(context.Background(), sandbox, typ, url.Values{"_total": {"accurate"}, "_count": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}

func (e *env) count(t testing.TB) int {
	n := 0
	for _, typ := range []string{"Observation", "Device", "DetectedIssue", "Flag", "Patient"} {
		n += len(e.search(t, typ, nil))
	}
	return n
}

// ackOf is the ACK Handle's answer would be.
func ackOf(m *hl7v2.Message, ps problems) *hl7v2.Message {
	ack, err := hl7v2.Parse(hl7v2.Ack(m, ps.ack(), "A1", time.Now(), ps.errs()).Bytes())
	if err != nil {
		panic(err)
	}
	return ack
}

func codings(o map[string]any, path ...string) []string {
	var v any = o
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	var out []string
	m, _ := v.(map[string]any)
	cs, _ := m["coding"].([]any)
	for _, c := range cs {
		c := c.(map[string]any)
		out = append(out, c["system"].(string)+"|"+c["code"].(string))
	}
	return out
}

func TestMTU_PassesConnectorSuite(t *testing.T) {
	monitor := bytes.TrimRight(testdata(t, "pcd01-monitor.hl7"), "\r")
	connectortest.Run(t, connectortest.Subject{
		ID:          ID,
		Open:        Opener(Config{RegisterPatients: true}),
		ValidFrames: [][]byte{monitor, testdata(t, "pcd04-spo2-low.hl7")},
		InvalidFrames: [][]byte{
			[]byte("MSH|^~\\&|DEVICE|||"),
			[]byte("MSH|^~\\&|X||||20260301120000+0100||ADT^A01^ADT_A01|C1|P|2.6\rPID|||1^^^FNR"),
			bytes.Replace(monitor, []byte("|97|"), []byte("|ninety|"), 1),
		},
	})
}

func TestHandle_PCD01_StoresObservationsOnThePatientWithLOINCAndMDC(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	m, ps := e.c.Handle(ctx, sandbox, testdata(t, "pcd01-monitor.hl7"))
	if ps.ack() != hl7v2.AA || len(ps) != 0 {
		t.Fatalf("ack %s, problems %+v", ps.ack(), ps)
	}
	if got := ackOf(m, ps).Segment("MSA").Field(2).String(); got != "MSG00001" {
		t.Errorf("MSA-2 = %q, want the message's control id", got)
	}
	obs := e.search(t, "Observation", url.Values{"subject": {e.patient}})
	byCode := map[string]map[string]any{}
	for _, o := range obs {
		byCode[codings(o, "code")[0]] = o
	}
	if len(obs) != 4 {
		t.Fatalf("%d Observations on the patient, want SpO2, pulse, the blood-pressure panel and temperature", len(obs))
	}
	spo2 := byCode["http://loinc.org|2708-6"]
	if spo2 == nil {
		t.Fatalf("no SpO2 Observation coded 2708-6: %v", byCode)
	}
	if got := codings(spo2, "code"); len(got) != 2 || got[1] != systemMDC+"|150456" {
		t.Errorf("SpO2 codings %v, want LOINC then MDC 150456", got)
	}
	q := spo2["valueQuantity"].(map[string]any)
	if q["value"] != 97.0 || q["code"] != "%" || q["system"] != systemUCUM {
		t.Errorf("SpO2 value %v", q)
	}
	if spo2["effectiveDateTime"] != "2026-03-01T11:59:59+01:00" || spo2["status"] != "preliminary" {
		t.Errorf("SpO2 effective %v status %v", spo2["effectiveDateTime"], spo2["status"])
	}
	if notes, _ := spo2["note"].([]any); len(notes) != 1 || notes[0].(map[string]any)["text"] != "Probe on left index finger & good signal" {
		t.Errorf("SpO2 notes %v", spo2["note"])
	}
	if rr, _ := spo2["referenceRange"].([]any); len(rr) != 1 {
		t.Errorf("SpO2 reference range %v", spo2["referenceRange"])
	}
	bp := byCode["http://loinc.org|85354-9"]
	if bp == nil {
		t.Fatal("no blood-pressure panel")
	}
	comps, _ := bp["component"].([]any)
	if len(comps) != 3 {
		t.Fatalf("panel components %v, want systolic, diastolic, mean", comps)
	}
	if got := codings(comps[0].(map[string]any), "code"); got[0] != "http://loinc.org|8480-6" {
		t.Errorf("first component %v, want systolic 8480-6", got)
	}
	if got := codings(bp, "code"); len(got) != 2 || got[1] != systemMDC+"|150020" {
		t.Errorf("panel codings %v, want the compound's MDC code second", got)
	}
	devs := e.search(t, "Device", url.Values{"identifier": {systemEUI64 + "|0123456789ABCDEF"}})
	if len(devs) != 1 || codings(devs[0], "type")[0] != systemMDC+"|69965" {
		t.Fatalf("Devices %v, want the monitor typed by its MDS row", devs)
	}
	if ref := spo2["device"].(map[string]any)["reference"]; ref != "Device/"+devs[0]["id"].(string) {
		t.Errorf("SpO2 device %v, want the monitor", ref)
	}
	// The same device in a new message is the same Device.
	again := bytes.Replace(testdata(t, "pcd01-monitor.hl7"), []byte("MSG00001"), []byte("MSG00002"), 1)
	if _, ps := e.c.Handle(ctx, sandbox, again); ps.ack() != hl7v2.AA {
		t.Fatalf("second message: %+v", ps)
	}
	if n := len(e.search(t, "Device", url.Values{"identifier": {systemEUI64 + "|0123456789ABCDEF"}})); n != 1 {
		t.Errorf("%d Devices after a second message from the monitor, want 1", n)
	}
	// A Device deleted since is created again, not referred to.
	if _, err := e.store.Delete(ctx, sandbox, "Device", devs[0]["id"].(string)); err != nil {
		t.Fatal(err)
	}
	third := bytes.Replace(testdata(t, "pcd01-monitor.hl7"), []byte("MSG00001"), []byte("MSG00003"), 1)
	if _, ps := e.c.Handle(ctx, sandbox, third); ps.ack() != hl7v2.AA {
		t.Fatalf("third message: %+v", ps)
	}
	devs = e.search(t, "Device", url.Values{"identifier": {systemEUI64 + "|0123456789ABCDEF"}})
	if len(devs) != 1 {
		t.Fatalf("%d Devices after the monitor's Device was deleted and it sent again, want 1", len(devs))
	}
	third3 := e.search(t, "Observation", url.Values{"identifier": {"urn:hpsandbox:mtu:obx|MSG00003/3"}})
	if len(third3) != 1 {
		t.Fatalf("%d Observations of OBX 3 of the third message", len(third3))
	}
	for _, o := range third3 {
		if ref := o["device"].(map[string]any)["reference"]; ref != "Device/"+devs[0]["id"].(string) {
			t.Errorf("the Observation refers to %v, want the new Device", ref)
		}
	}
}

func TestHandle_DuplicateControlID_AcknowledgedNotStoredAgain(t *testing.T) {
	e := newEnv(t, Config{})
	msg := testdata(t, "pcd01-monitor.hl7")
	e.c.Handle(context.Background(), sandbox, msg)
	before := e.count(t)
	m, ps := e.c.Handle(context.Background(), sandbox, msg)
	if ps.ack() != hl7v2.AA || len(ps) != 1 || ps[0].err.Code != hl7v2.CodeDuplicateKey || ps[0].err.Severity != hl7v2.SeverityWarning {
		t.Fatalf("problems %+v, want AA with one warning 205", ps)
	}
	if after := e.count(t); after != before {
		t.Errorf("%d resources after the resend, %d before", after, before)
	}
	if res := judgeByID("mtu-control-id-unique", exchangeOf(msg, m, ps)); res.Verdict != connectors.Fail {
		t.Errorf("mtu-control-id-unique judged the resend %v", res.Verdict)
	}
}

func TestHandle_PCD04_AlertBecomesDetectedIssueAndFlag(t *testing.T) {
	e := newEnv(t, Config{})
	if _, ps := e.c.Handle(context.Background(), sandbox, testdata(t, "pcd04-spo2-low.hl7")); ps.ack() != hl7v2.AA {
		t.Fatalf("problems %+v", ps)
	}
	issues := e.search(t, "DetectedIssue", nil)
	if len(issues) != 1 {
		t.Fatalf("%d DetectedIssues", len(issues))
	}
	di := issues[0]
	if di["severity"] != "high" || di["status"] != "preliminary" || codings(di, "code")[0] != systemMDC+"|196652" ||
		di["patient"].(map[string]any)["reference"] != e.patient || di["identifiedDateTime"] != "2026-03-01T12:04:55+01:00" {
		t.Errorf("DetectedIssue %v", di)
	}
	impl, _ := di["implicated"].([]any)
	if len(impl) != 1 || !strings.HasPrefix(impl[0].(map[string]any)["reference"].(string), "Observation/") {
		t.Errorf("implicated %v, want the SpO2 Observation", di["implicated"])
	}
	flags := e.search(t, "Flag", nil)
	if len(flags) != 1 || flags[0]["status"] != "active" || flags[0]["subject"].(map[string]any)["reference"] != e.patient {
		t.Errorf("Flags %v", flags)
	}
	obs := e.search(t, "Observation", nil)
	if len(obs) != 1 || obs[0]["interpretation"] == nil {
		t.Errorf("Observations %v, want the SpO2 that raised the alert, flagged", obs)
	}
}
