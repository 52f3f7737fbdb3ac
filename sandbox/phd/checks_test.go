package phd

import (
	"encoding/json"
	"testing"
	"time"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
)

type entries []requestlog.Entry

func (e *entries) Record(x requestlog.Entry) { *e = append(*e, x) }

func TestChecks_ReadTheRecordedVerdictsOfTheRunsClient(t *testing.T) {
	defs, err := Definitions()
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(readUpload(t))
	doc := readUpload(t)
	delete(entry(doc, 0)["request"].(map[string]any), "ifNoneExist")
	bad, _ := json.Marshal(doc)

	var log entries
	now := time.Now()
	Record(&log, Upload{Sandbox: "a", ClientID: "gw", RequestID: "r1", Time: now}, Judge(defs, good))
	Record(&log, Upload{Sandbox: "a", ClientID: "other", RequestID: "r2", Time: now}, Judge(defs, bad))
	if len(log) != 2*len(Rules) {
		t.Fatalf("%d entries, want one per rule of each upload (%d)", len(log), 2*len(Rules))
	}

	reg := conformance.NewRegistry()
	if err := reg.Add(Checks()...); err != nil {
		t.Fatal(err)
	}
	if err := reg.AddProfile(Profile()); err != nil {
		t.Fatal(err)
	}
	judgeRun := func(client string) map[string]conformance.Result {
		run, err := reg.Evaluate(ProfileID, &conformance.Evidence{Sandbox: "a", ClientID: client, Entries: log}, now)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]conformance.Result{}
		for _, o := range run.Outcomes {
			out[o.Check.ID] = o.Result
		}
		return out
	}
	for id, r := range judgeRun("gw") {
		if r.Status != conformance.Pass || len(r.Evidence) != 1 || r.Evidence[0] != "r1" {
			t.Errorf("gw %s: %+v", id, r)
		}
	}
	other := judgeRun("other")
	if r := other[RuleConditionalCreate]; r.Status != conformance.Fail || r.Evidence[0] != "r2" {
		t.Errorf("other's conditional create: %+v", r)
	}
	if r := judgeRun("nobody")[RuleTransaction]; r.Status != conformance.Skip {
		t.Errorf("a client without uploads: %+v", r)
	}
}
