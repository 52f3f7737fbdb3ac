package phd

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
)

func TestChecks_ReadTheRecordedVerdictsOfTheRunsClient(t *testing.T) {
	defs, err := Definitions()
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(readUpload(t))
	doc := readUpload(t)
	delete(entry(doc, 0)["request"].(map[string]any), "ifNoneExist")
	bad, _ := json.Marshal(doc)

	now := time.Now()
	upload := func(client, id string, body []byte) requestlog.Entry {
		return requestlog.Entry{Sandbox: "a", Time: now, ClientID: client, RequestID: id, Method: "POST", Path: "/fhir",
			Status: 200, Verdicts: LogVerdicts(Judge(defs, body))}
	}
	log := []requestlog.Entry{upload("gw", "r1", good), upload("other", "r2", bad),
		{Sandbox: "a", Time: now, ClientID: "gw", RequestID: "r3", Method: "GET", Path: "/fhir/Patient", Status: 200}}
	for _, e := range log[:2] {
		if len(e.Verdicts) != len(Rules) {
			t.Fatalf("%s: %d verdicts on the upload's entry, want one per rule (%d)", e.RequestID, len(e.Verdicts), len(Rules))
		}
	}
	failing := 0
	for _, v := range log[1].Verdicts {
		if !v.Pass {
			failing++
			if v.Check != RuleConditionalCreate || !strings.Contains(v.Message, "ifNoneExist") {
				t.Errorf("failing verdict %+v, want %s naming ifNoneExist", v, RuleConditionalCreate)
			}
		}
	}
	if failing != 1 {
		t.Errorf("%d failing verdicts on the breaking upload, want 1", failing)
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

func TestLogVerdicts_CutsLongMessagesAndCountsTheRest(t *testing.T) {
	long := Verdict{Rule: RuleProfiles, Applies: true}
	for range 3 {
		long.fail("Bundle.entry[0]", "%s", strings.Repeat("é", 400))
	}
	got := LogVerdicts([]Verdict{{Rule: RuleRelated}, long})
	if len(got) != 1 {
		t.Fatalf("%d verdicts, want only the one that applies", len(got))
	}
	if m := got[0].Message; got[0].Pass || len(m) > maxVerdictMessage || !strings.HasSuffix(m, "…") || !utf8.ValidString(m) {
		t.Errorf("message %q (%d bytes)", m, len(m))
	}
	short := Verdict{Rule: RuleProfiles, Applies: true}
	short.fail("", "one")
	short.fail("", "two")
	if m := LogVerdicts([]Verdict{short})[0].Message; m != "one; and 1 more" {
		t.Errorf("message %q", m)
	}
}
