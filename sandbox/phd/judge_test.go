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

// A gateway that reads the device's clock uploads a Coincident Time Stamp
// as a plain create (the IG: never a duplicate, always created) and names
// it in each measurement's derivedFrom, itself in the gatewayDevice
// extension: every rule passes, the profiles of PhgDevice and of the time
// stamp included; a measurement created plainly still breaks the rule.
func TestJudge_CoincidentTimeStampIsCreatedPlainly(t *testing.T) {
	const phg, coin = "urn:uuid:6f0c6a1e-2b1d-4c39-9a35-3f5f0a1a00f1", "urn:uuid:6f0c6a1e-2b1d-4c39-9a35-3f5f0a1a00f2"
	var gateway, stamp map[string]any
	if err := json.Unmarshal([]byte(`{"resourceType":"Device","meta":{"profile":["http://hl7.org/fhir/uv/phd/StructureDefinition/PhgDevice"]},
		"identifier":[{"type":{"coding":[{"system":"http://hl7.org/fhir/uv/phd/CodeSystem/ContinuaDeviceIdentifiers","code":"SYSID"}]},
		"system":"urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680","value":"EC-DE-3D-4E-58-53-2D-31"}],
		"type":{"coding":[{"system":"urn:iso:std:iso:11073:10101","code":"531981"}],"text":"MDC_MOC_VMS_MDS_AHD"},
		"version":[{"type":{"coding":[{"system":"urn:iso:std:iso:11073:10101","code":"532352"}]},"value":"5.0"}],
		"property":[{"type":{"coding":[{"system":"urn:iso:std:iso:11073:10101","code":"68220"}]},
		"valueCode":[{"coding":[{"system":"urn:iso:std:iso:11073:10101","code":"532226"}]}]}]}`), &gateway); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"resourceType":"Observation","meta":{"profile":["http://hl7.org/fhir/uv/phd/StructureDefinition/PhdCoincidentTimeStampObservation"]},
		"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice","valueReference":{"reference":"`+phg+`"}}],
		"status":"final","code":{"coding":[{"system":"urn:iso:std:iso:11073:10101","code":"67975"}],"text":"MDC_ATTR_TIME_ABS: Absolute time"},
		"subject":{"reference":"urn:uuid:6f0c6a1e-2b1d-4c39-9a35-3f5f0a1a0002"},"device":{"reference":"urn:uuid:6f0c6a1e-2b1d-4c39-9a35-3f5f0a1a0001"},
		"effectiveDateTime":"2018-11-11T19:07:36-05:00","valueDateTime":"2018-11-11T19:03:30-05:00"}`), &stamp); err != nil {
		t.Fatal(err)
	}
	doc := readUpload(t)
	doc["entry"] = append(doc["entry"].([]any),
		map[string]any{"fullUrl": phg, "resource": gateway, "request": map[string]any{"method": "POST", "url": "Device",
			"ifNoneExist": "identifier=urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680|EC-DE-3D-4E-58-53-2D-31"}},
		map[string]any{"fullUrl": coin, "resource": stamp, "request": map[string]any{"method": "POST", "url": "Observation"}})
	obs := resource(doc, 2)
	obs["derivedFrom"] = []any{map[string]any{"reference": coin}}
	obs["extension"] = []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice",
		"valueReference": map[string]any{"reference": phg}}}
	for rule, v := range judge(t, doc) {
		if !v.Pass() {
			t.Errorf("%s: %+v", rule, v.Issues)
		}
	}
	delete(entry(doc, 2)["request"].(map[string]any), "ifNoneExist")
	if v := judge(t, doc)[RuleConditionalCreate]; v.Pass() {
		t.Error("a measurement created without ifNoneExist passed beside a time stamp")
	}
}
