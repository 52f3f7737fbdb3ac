package phd

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func readUpload(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/upload.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func judge(t testing.TB, doc map[string]any) map[string]Verdict {
	t.Helper()
	defs, err := Definitions()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(doc)
	if !IsUpload(b) {
		t.Fatal("not taken for a PHD upload")
	}
	out := map[string]Verdict{}
	for _, v := range Judge(defs, b) {
		out[v.Rule] = v
	}
	return out
}

func TestJudge_ConformingUploadPassesEveryRule(t *testing.T) {
	for rule, v := range judge(t, readUpload(t)) {
		if !v.Pass() {
			t.Errorf("%s: applies %v, issues %+v", rule, v.Applies, v.Issues)
		}
	}
}

func entry(doc map[string]any, i int) map[string]any {
	return doc["entry"].([]any)[i].(map[string]any)
}

func resource(doc map[string]any, i int) map[string]any {
	return entry(doc, i)["resource"].(map[string]any)
}

func TestJudge_EachRuleCatchesItsBreach(t *testing.T) {
	tests := []struct {
		rule   string
		breach func(doc map[string]any)
		want   string
		also   string // a rule the breach breaks as well
	}{
		{RuleTransaction, func(d map[string]any) { d["type"] = "batch" }, "transaction", ""},
		{RuleDeviceIdentity, func(d map[string]any) {
			ids := resource(d, 0)["identifier"].([]any)
			ids[0].(map[string]any)["value"] = "not-an-eui"
			entry(d, 0)["request"].(map[string]any)["ifNoneExist"] = "identifier=" + systemIDSystem + "|not-an-eui"
		}, "EUI-64", ""},
		{RuleDeviceIdentity, func(d map[string]any) { delete(resource(d, 0), "identifier") }, "no system id", RuleConditionalCreate},
		{RuleDeviceReference, func(d map[string]any) { delete(resource(d, 2), "device") }, "names no device", ""},
		{RuleDeviceReference, func(d map[string]any) {
			resource(d, 2)["device"] = map[string]any{"reference": "urn:uuid:6f0c6a1e-2b1d-4c39-9a35-3f5f0a1a0002"}
		}, "not a Device", ""},
		{RuleEffectiveTimeZone, func(d map[string]any) { resource(d, 2)["effectiveDateTime"] = "2018-11-11T19:07:36" }, "zone", ""},
		{RuleEffectiveTimeZone, func(d map[string]any) { resource(d, 2)["effectiveDateTime"] = "2018-11-11" }, "zone", ""},
		{RuleRelated, func(d map[string]any) {
			resource(d, 3)["derivedFrom"] = []any{map[string]any{"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"}}
		}, "names no entry", ""},
		{RuleRelated, func(d map[string]any) {
			resource(d, 3)["hasMember"] = []any{map[string]any{"reference": "urn:uuid:6f0c6a1e-2b1d-4c39-9a35-3f5f0a1a0001"}}
		}, "not a Observation", ""},
		{RuleConditionalCreate, func(d map[string]any) { delete(entry(d, 0)["request"].(map[string]any), "ifNoneExist") }, "ifNoneExist", ""},
		{RuleConditionalCreate, func(d map[string]any) { delete(resource(d, 2), "identifier") }, "identifier", ""},
		{RuleConditionalCreate, func(d map[string]any) {
			entry(d, 0)["request"].(map[string]any)["ifNoneExist"] = "type=531981"
		}, "own identifier", ""},
		{RuleProfiles, func(d map[string]any) { delete(resource(d, 2), "status") }, "PhdNumericObservation", ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule+" "+tt.want, func(t *testing.T) {
			doc := readUpload(t)
			tt.breach(doc)
			got := judge(t, doc)
			v := got[tt.rule]
			if v.Pass() || len(v.Issues) == 0 {
				t.Fatalf("%s passed a breach", tt.rule)
			}
			if !strings.Contains(v.Issues[0].Diagnostics, tt.want) {
				t.Errorf("issue %q does not mention %q", v.Issues[0].Diagnostics, tt.want)
			}
			for rule, other := range got {
				if rule != tt.rule && rule != tt.also && rule != RuleProfiles && !other.Pass() && other.Applies {
					t.Errorf("breaking %s also failed %s: %+v", tt.rule, rule, other.Issues)
				}
			}
		})
	}
}
