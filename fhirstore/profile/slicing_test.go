package profile

import (
	"testing"

	"hpsandbox/fhirstore/outcome"
)

// TestValidate_SlicingKinds covers the discriminator types (value, pattern,
// type, exists, profile) and the slicing rules (closed, openAtEnd, ordered)
// with the alarm Bundle and Communication profiles of testdata/profiles.
func TestValidate_SlicingKinds(t *testing.T) {
	d := testDefinitions(t)
	entries := func(m map[string]any) []any { return m["entry"].([]any) }
	comm := func(m map[string]any) map[string]any {
		return entries(m)[1].(map[string]any)["resource"].(map[string]any)
	}
	tests := []struct {
		name    string
		profile string
		change  func(m map[string]any)
		want    *want
	}{
		{name: "conforming alarm validates", profile: "http://example.org/fhir/StructureDefinition/alarm-bundle", change: func(map[string]any) {}},
		{name: "Type_OrderedSlicesOutOfOrder", profile: "http://example.org/fhir/StructureDefinition/alarm-bundle",
			change: func(m map[string]any) { e := entries(m); e[0], e[1] = e[1], e[0] },
			want:   &want{"header", outcome.ErrorLevel, "Bundle.entry[1]"}},
		{name: "Type_ClosedSlicingRefusesOtherTypes", profile: "http://example.org/fhir/StructureDefinition/alarm-bundle",
			change: func(m map[string]any) {
				m["entry"] = append(entries(m), map[string]any{"fullUrl": "urn:uuid:0f8e1a52-6b1e-4d0e-9c1a-1a2b3c4d5e03",
					"resource": map[string]any{"resourceType": "Patient", "id": "p"}})
			},
			want: &want{"slicing", outcome.ErrorLevel, "Bundle.entry[2]"}},
		{name: "Type_RequiredSliceMissing", profile: "http://example.org/fhir/StructureDefinition/alarm-bundle",
			change: func(m map[string]any) { m["entry"] = entries(m)[:1] },
			want:   &want{"alarm", outcome.ErrorLevel, "Bundle.entry"}},
		{name: "Pattern_SliceMissing", change: func(m map[string]any) {
			comm(m)["category"] = []any{map[string]any{"text": "other"}}
		}, want: &want{"kind", outcome.ErrorLevel, "Bundle.entry[1].resource.category"}},
		{name: "Pattern_OpenAtEndRefusesUnmatchedFirst", change: func(m map[string]any) {
			c := comm(m)["category"].([]any)
			c[0], c[1] = c[1], c[0]
		}, want: &want{"kind", outcome.ErrorLevel, "Bundle.entry[1].resource.category[1]"}},
		{name: "Type_ChoiceClosedSlicing", change: func(m map[string]any) {
			comm(m)["payload"] = []any{map[string]any{"contentAttachment": map[string]any{"contentType": "text/plain"}}}
		}, want: &want{"slicing", outcome.ErrorLevel, "Bundle.entry[1].resource.payload[0]"}},
		{name: "Exists_SliceNeedsTheElement", change: func(m map[string]any) {
			comm(m)["note"] = []any{map[string]any{"text": "unsigned"}}
		}, want: &want{"signed", outcome.ErrorLevel, "Bundle.entry[1].resource.note"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := readResource(t, "bundle-alarm.json")
			tt.change(m)
			var opts Options
			if tt.profile != "" {
				opts.Profiles = []string{tt.profile}
			}
			issues := d.Validate(marshal(t, m), opts)
			if tt.want == nil {
				if HasErrors(issues) {
					t.Errorf("unexpected errors:\n%s", dump(issues))
				}
				return
			}
			if !hasIssue(issues, *tt.want) {
				t.Errorf("missing %+v; got:\n%s", *tt.want, dump(issues))
			}
		})
	}
}

// TestValidate_ProfileDiscriminator: entries sliced by the profile their
// resource conforms to.
func TestValidate_ProfileDiscriminator(t *testing.T) {
	d := testDefinitions(t)
	sd := `{"resourceType":"StructureDefinition","url":"http://example.org/sd/vitals-bundle","name":"VitalsBundle","type":"Bundle",
		"kind":"resource","derivation":"constraint","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Bundle",
		"differential":{"element":[
		 {"id":"Bundle.entry","path":"Bundle.entry","slicing":{"discriminator":[{"type":"profile","path":"resource"}],"rules":"open"}},
		 {"id":"Bundle.entry:bp","path":"Bundle.entry","sliceName":"bp","min":1,"max":"1"},
		 {"id":"Bundle.entry:bp.resource","path":"Bundle.entry.resource","type":[{"code":"Observation","profile":["http://hl7.org/fhir/StructureDefinition/bp"]}]}]}}`
	if err := d.Add([]byte(sd)); err != nil {
		t.Fatal(err)
	}
	bp := readResource(t, "observation-bp.json")
	hr := readResource(t, "observation-heartrate.json")
	bundle := func(rs ...map[string]any) []byte {
		var entries []any
		for _, r := range rs {
			entries = append(entries, map[string]any{"resource": r})
		}
		return marshal(t, map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries})
	}
	opts := Options{Profiles: []string{"http://example.org/sd/vitals-bundle"}}
	if issues := d.Validate(bundle(hr, bp), opts); hasIssue(issues, want{"bp", outcome.ErrorLevel, "Bundle.entry"}) {
		t.Errorf("the bp entry was not recognised:\n%s", dump(issues))
	}
	if issues := d.Validate(bundle(hr), opts); !hasIssue(issues, want{"bp", outcome.ErrorLevel, "Bundle.entry"}) {
		t.Errorf("a Bundle without a bp Observation passed:\n%s", dump(issues))
	}
}
