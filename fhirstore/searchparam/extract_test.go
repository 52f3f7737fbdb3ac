package searchparam

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustExtract(t *testing.T, resourceType, body string) *Index {
	t.Helper()
	x, err := Extract(resourceType, []byte(body))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	return x
}

func where[T any](rows []T, keep func(T) bool) []T {
	var out []T
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

func TestExtract_DateRangeFollowsPrecision(t *testing.T) {
	tests := []struct {
		name, value string
		low, high   int64
	}{
		{"year covers the year", "2024", ms("2024-01-01T00:00:00Z"), ms("2025-01-01T00:00:00Z")},
		{"month covers the month", "2024-03", ms("2024-03-01T00:00:00Z"), ms("2024-04-01T00:00:00Z")},
		{"leap February", "2024-02", ms("2024-02-01T00:00:00Z"), ms("2024-03-01T00:00:00Z")},
		{"day covers the day in UTC", "2024-03-05", ms("2024-03-05T00:00:00Z"), ms("2024-03-06T00:00:00Z")},
		{"seconds with offset are converted to UTC", "2024-03-05T10:00:00+01:00", ms("2024-03-05T09:00:00Z"), ms("2024-03-05T09:00:01Z")},
		{"milliseconds", "2024-03-05T10:00:00.123Z", ms("2024-03-05T10:00:00.123Z"), ms("2024-03-05T10:00:00.124Z")},
		{"tenths of a second", "2024-03-05T10:00:00.1Z", ms("2024-03-05T10:00:00.1Z"), ms("2024-03-05T10:00:00.2Z")},
		{"no time zone is UTC", "2024-03-05T10:00:00", ms("2024-03-05T10:00:00Z"), ms("2024-03-05T10:00:01Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := mustExtract(t, "Observation", `{"resourceType":"Observation","effectiveDateTime":"`+tt.value+`"}`)
			got := where(x.Dates, func(r DateRow) bool { return r.Param == "date" })
			want := []DateRow{{Param: "date", Low: tt.low, High: tt.high}}
			if !slices.Equal(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestExtract_DateInvalidValuesAreSkipped(t *testing.T) {
	for _, v := range []string{"2024-02-30", "2024-13", "24", "2024-03-05T25:00:00Z", "2024-03-05T10:00:00+0100", "yesterday"} {
		x := mustExtract(t, "Patient", `{"resourceType":"Patient","birthDate":"`+v+`"}`)
		if got := where(x.Dates, func(r DateRow) bool { return r.Param == "birthdate" }); len(got) != 0 {
			t.Errorf("%q indexed as %+v", v, got)
		}
	}
}

func TestExtract_PeriodOpenEndsAreUnbounded(t *testing.T) {
	tests := []struct {
		period    string
		low, high int64
	}{
		{`{"start":"2024-03-05"}`, ms("2024-03-05T00:00:00Z"), MaxTime},
		{`{"end":"2024-03-05"}`, MinTime, ms("2024-03-06T00:00:00Z")},
		{`{"start":"2024-03","end":"2024-04-02T12:00:00Z"}`, ms("2024-03-01T00:00:00Z"), ms("2024-04-02T12:00:01Z")},
	}
	for _, tt := range tests {
		x := mustExtract(t, "Encounter", `{"resourceType":"Encounter","period":`+tt.period+`}`)
		got := where(x.Dates, func(r DateRow) bool { return r.Param == "date" })
		want := []DateRow{{Param: "date", Low: tt.low, High: tt.high}}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %+v, want %+v", tt.period, got, want)
		}
	}
}

func TestExtract_TimingCoversItsEvents(t *testing.T) {
	x := mustExtract(t, "Observation", `{"resourceType":"Observation",
		"effectiveTiming":{"event":["2024-03-07","2024-03-05T08:00:00Z"]}}`)
	got := where(x.Dates, func(r DateRow) bool { return r.Param == "date" })
	want := []DateRow{{Param: "date", Low: ms("2024-03-05T08:00:00Z"), High: ms("2024-03-08T00:00:00Z")}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestExtract_TimingEventPathGivesARowPerEvent(t *testing.T) {
	x := mustExtract(t, "MedicationRequest", `{"resourceType":"MedicationRequest",
		"dosageInstruction":[{"timing":{"event":["2024-03-07","2024-03-05T08:00:00Z"]}}]}`)
	got := where(x.Dates, func(r DateRow) bool { return r.Param == "date" })
	want := []DateRow{
		{Param: "date", Low: ms("2024-03-07T00:00:00Z"), High: ms("2024-03-08T00:00:00Z")},
		{Param: "date", Low: ms("2024-03-05T08:00:00Z"), High: ms("2024-03-05T08:00:01Z")},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestExtract_QuantityRangeFollowsPrecision(t *testing.T) {
	tests := []struct {
		value     string
		low, high float64
	}{
		{"100", 99.5, 100.5},
		{"100.0", 99.95, 100.05},
		{"100.00", 99.995, 100.005},
		{"1e2", 50, 150},
		{"1.5E1", 14.5, 15.5},
		{"0.001", 0.0005, 0.0015},
		{"-3", -3.5, -2.5},
	}
	for _, tt := range tests {
		x := mustExtract(t, "Observation", `{"resourceType":"Observation","valueQuantity":{"value":`+tt.value+
			`,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}`)
		got := where(x.Quantities, func(r QuantityRow) bool { return r.Param == "value-quantity" })
		want := []QuantityRow{{Param: "value-quantity", Value: tt.value, Low: tt.low, High: tt.high,
			System: "http://unitsofmeasure.org", Code: "mmol/L", Unit: "mmol/L"}}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %+v, want %+v", tt.value, got, want)
		}
	}
}

func TestExtract_MoneyIsAQuantityInISO4217(t *testing.T) {
	x := mustExtract(t, "ChargeItem", `{"resourceType":"ChargeItem","priceOverride":{"value":250,"currency":"NOK"}}`)
	got := where(x.Quantities, func(r QuantityRow) bool { return r.Param == "price-override" })
	want := []QuantityRow{{Param: "price-override", Value: "250", Low: 249.5, High: 250.5, System: "urn:iso:std:iso:4217", Code: "NOK"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestExtract_NumberAndRange(t *testing.T) {
	x := mustExtract(t, "RiskAssessment", `{"resourceType":"RiskAssessment","prediction":[
		{"probabilityDecimal":0.25},{"probabilityRange":{"low":{"value":10},"high":{"value":20.0}}},
		{"probabilityRange":{"high":{"value":5}}}]}`)
	got := where(x.Numbers, func(r NumberRow) bool { return r.Param == "probability" })
	want := []NumberRow{
		{Param: "probability", Value: "0.25", Low: 0.245, High: 0.255},
		{Param: "probability", Low: 9.5, High: 20.05},
		{Param: "probability", Low: math.Inf(-1), High: 5.5},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestExtract_HumanNameExpandsToItsParts(t *testing.T) {
	x := mustExtract(t, "Patient", `{"resourceType":"Patient","name":[{"text":"Dr. Ola Nordmann",
		"family":"Nordmann","given":["Ola","Jakob"],"prefix":["Dr."],"suffix":["jr"]}]}`)
	got := where(x.Strings, func(r StringRow) bool { return r.Param == "name" })
	want := []StringRow{
		{Param: "name", Normalized: "dr. ola nordmann", Exact: "Dr. Ola Nordmann"},
		{Param: "name", Normalized: "nordmann", Exact: "Nordmann"},
		{Param: "name", Normalized: "ola", Exact: "Ola"},
		{Param: "name", Normalized: "jakob", Exact: "Jakob"},
		{Param: "name", Normalized: "dr.", Exact: "Dr."},
		{Param: "name", Normalized: "jr", Exact: "jr"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestExtract_AddressExpandsToItsParts(t *testing.T) {
	x := mustExtract(t, "Patient", `{"resourceType":"Patient","address":[{"text":"Prinsens gate 1, 7011 Trondheim",
		"line":["Prinsens gate 1","c/o Hansen"],"city":"Trondheim","district":"Trøndelag","state":"Trøndelag",
		"postalCode":"7011","country":"NO"}]}`)
	var got []string
	for _, r := range where(x.Strings, func(r StringRow) bool { return r.Param == "address" }) {
		got = append(got, r.Exact)
	}
	want := []string{"Prinsens gate 1, 7011 Trondheim", "Prinsens gate 1", "c/o Hansen", "Trondheim", "Trøndelag", "Trøndelag", "7011", "NO"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNormalize_FoldsCaseAndDiacritics(t *testing.T) {
	tests := map[string]string{
		"Nordmann": "nordmann", "Ødegård": "odegard", "Ærø": "aero", "Åse": "ase", "blåbær": "blabaer",
		"Müller": "muller", "José": "jose", "Straße": "strasse", "Œuvre": "oeuvre", "Łódź": "lodz", "ÅSE": "ase",
		"e\u0301": "e",
	}
	for in, want := range tests {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExtract_TokenFromCodeableConceptCodingAndText(t *testing.T) {
	x := mustExtract(t, "Condition", `{"resourceType":"Condition","code":{"coding":[
		{"system":"http://snomed.info/sct","code":"44054006","display":"Diabetes mellitus type 2"},
		{"system":"urn:oid:2.16.578.1.12.4.1.1.7170","code":"T90"}],"text":"Diabetes type 2, ikke-insulinavhengig"}}`)
	got := where(x.Tokens, func(r TokenRow) bool { return r.Param == "code" })
	want := []TokenRow{
		{Param: "code", System: "http://snomed.info/sct", Code: "44054006", Text: "diabetes mellitus type 2"},
		{Param: "code", System: "urn:oid:2.16.578.1.12.4.1.1.7170", Code: "T90"},
		{Param: "code", Text: "diabetes type 2, ikke-insulinavhengig"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestExtract_TokenFromIdentifierKeepsTypeForOfType(t *testing.T) {
	x := mustExtract(t, "Patient", `{"resourceType":"Patient","identifier":[
		{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"NI"}],"text":"Fødselsnummer"},
		 "system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13031353453"},
		{"system":"urn:oid:2.16.578.1.12.4.1.4.2","value":"41031353400"}]}`)
	got := where(x.Tokens, func(r TokenRow) bool { return r.Param == "identifier" })
	want := []TokenRow{
		{Param: "identifier", System: "urn:oid:2.16.578.1.12.4.1.4.1", Code: "13031353453", Text: "fodselsnummer",
			TypeSystem: "http://terminology.hl7.org/CodeSystem/v2-0203", TypeCode: "NI"},
		{Param: "identifier", System: "urn:oid:2.16.578.1.12.4.1.4.2", Code: "41031353400"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestExtract_TokenFromPrimitivesAndContactPoint(t *testing.T) {
	x := mustExtract(t, "Patient", `{"resourceType":"Patient","id":"p1","active":false,"gender":"male",
		"telecom":[{"system":"phone","value":"+47 99999999","use":"mobile"},{"system":"email","value":"ola@example.no"}]}`)
	pick := func(p string) []TokenRow { return where(x.Tokens, func(r TokenRow) bool { return r.Param == p }) }
	checks := map[string][]TokenRow{
		"_id":    {{Param: "_id", Code: "p1"}},
		"active": {{Param: "active", Code: "false"}},
		"gender": {{Param: "gender", Code: "male"}},
		"phone":  {{Param: "phone", System: "phone", Code: "+47 99999999"}},
		"email":  {{Param: "email", System: "email", Code: "ola@example.no"}},
		"telecom": {{Param: "telecom", System: "phone", Code: "+47 99999999"},
			{Param: "telecom", System: "email", Code: "ola@example.no"}},
	}
	for p, want := range checks {
		if got := pick(p); !slices.Equal(got, want) {
			t.Errorf("%s: got %+v, want %+v", p, got, want)
		}
	}
}

func TestExtract_References(t *testing.T) {
	tests := []struct {
		name, ref string
		want      []ReferenceRow
	}{
		{"relative", `{"reference":"Patient/p1"}`, []ReferenceRow{{Param: "subject", TargetType: "Patient", TargetID: "p1"}}},
		{"relative with version", `{"reference":"Patient/p1/_history/3"}`,
			[]ReferenceRow{{Param: "subject", TargetType: "Patient", TargetID: "p1", Version: "3"}}},
		{"absolute", `{"reference":"https://fhir.example.no/r4/Patient/p1"}`,
			[]ReferenceRow{{Param: "subject", TargetType: "Patient", TargetID: "p1", URL: "https://fhir.example.no/r4/Patient/p1"}}},
		{"urn", `{"reference":"urn:uuid:2b0e6f2c-1c2d-4a53-9d8f-3f1f4a0a8e11"}`,
			[]ReferenceRow{{Param: "subject", URL: "urn:uuid:2b0e6f2c-1c2d-4a53-9d8f-3f1f4a0a8e11"}}},
		{"contained is not indexed", `{"reference":"#pat"}`, nil},
		{"identifier only", `{"type":"Patient","identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13031353453"}}`,
			[]ReferenceRow{{Param: "subject", TargetType: "Patient", IdentifierSystem: "urn:oid:2.16.578.1.12.4.1.4.1", IdentifierValue: "13031353453"}}},
		{"display only is not indexed", `{"display":"Ola"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := mustExtract(t, "Observation", `{"resourceType":"Observation","subject":`+tt.ref+`}`)
			got := where(x.References, func(r ReferenceRow) bool { return r.Param == "subject" })
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestExtract_ResolveIsTypeFiltersByReferenceType(t *testing.T) {
	for ref, want := range map[string]int{
		`{"reference":"Patient/p1"}`: 1, `{"reference":"Group/g1"}`: 0,
		`{"reference":"https://x.example/fhir/Patient/p1"}`: 1, `{"type":"Patient","identifier":{"value":"1"}}`: 1,
	} {
		x := mustExtract(t, "Observation", `{"resourceType":"Observation","subject":`+ref+`}`)
		if got := len(where(x.References, func(r ReferenceRow) bool { return r.Param == "patient" })); got != want {
			t.Errorf("%s: %d patient rows, want %d", ref, got, want)
		}
	}
}

func TestExtract_CanonicalReferenceSplitsVersion(t *testing.T) {
	x := mustExtract(t, "QuestionnaireResponse", `{"resourceType":"QuestionnaireResponse",
		"questionnaire":"http://example.no/Questionnaire/phq9|2.0"}`)
	got := where(x.References, func(r ReferenceRow) bool { return r.Param == "questionnaire" })
	want := []ReferenceRow{{Param: "questionnaire", URL: "http://example.no/Questionnaire/phq9", Version: "2.0"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestExtract_MetaParameters(t *testing.T) {
	x := mustExtract(t, "Observation", `{"resourceType":"Observation","id":"o1","meta":{
		"lastUpdated":"2024-03-05T10:15:30.123Z","profile":["http://example.no/StructureDefinition/x"],
		"tag":[{"system":"urn:t","code":"a"}],"security":[{"system":"urn:s","code":"R"}],"source":"urn:src"}}`)
	if got := where(x.Dates, func(r DateRow) bool { return r.Param == "_lastUpdated" }); !slices.Equal(got,
		[]DateRow{{Param: "_lastUpdated", Low: ms("2024-03-05T10:15:30.123Z"), High: ms("2024-03-05T10:15:30.124Z")}}) {
		t.Errorf("_lastUpdated %+v", got)
	}
	wantURIs := []URIRow{{Param: "_profile", Value: "http://example.no/StructureDefinition/x"}, {Param: "_source", Value: "urn:src"}}
	if !slices.Equal(x.URIs, wantURIs) {
		t.Errorf("URIs %+v", x.URIs)
	}
	wantTokens := []TokenRow{{Param: "_id", Code: "o1"}, {Param: "_security", System: "urn:s", Code: "R"}, {Param: "_tag", System: "urn:t", Code: "a"}}
	if !slices.Equal(x.Tokens, wantTokens) {
		t.Errorf("Tokens %+v", x.Tokens)
	}
	if x.ID != "o1" || x.ResourceType != "Observation" {
		t.Errorf("ID %q type %q", x.ID, x.ResourceType)
	}
}

func TestExtract_CompositeRowsShareAGroupPerElement(t *testing.T) {
	x := mustExtract(t, "Observation", `{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
		"component":[
		 {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}},
		 {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"code":"mm[Hg]"}},
		 {"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}}]}`)
	const p = "component-code-value-quantity"
	tokens := where(x.Tokens, func(r TokenRow) bool { return r.Param == p })
	quantities := where(x.Quantities, func(r QuantityRow) bool { return r.Param == p })
	if len(tokens) != 2 || len(quantities) != 2 || tokens[0].Group == 0 || tokens[0].Group == tokens[1].Group ||
		tokens[0].Group != quantities[0].Group || tokens[1].Group != quantities[1].Group {
		t.Fatalf("rows of one component must share a group of their own: tokens %+v\nquantities %+v", tokens, quantities)
	}
	g1, g2 := tokens[0].Group, tokens[1].Group
	wantTokens := []TokenRow{
		{Param: p, Group: g1, Component: 0, System: "http://loinc.org", Code: "8480-6"},
		{Param: p, Group: g2, Component: 0, System: "http://loinc.org", Code: "8462-4"},
	}
	wantQuantities := []QuantityRow{
		{Param: p, Group: g1, Component: 1, Value: "120", Low: 119.5, High: 120.5, Code: "mm[Hg]"},
		{Param: p, Group: g2, Component: 1, Value: "80", Low: 79.5, High: 80.5, Code: "mm[Hg]"},
	}
	if !slices.Equal(tokens, wantTokens) || !slices.Equal(quantities, wantQuantities) {
		t.Errorf("tokens %+v\nquantities %+v", tokens, quantities)
	}
	// Groups are unique across all composite parameters of the resource.
	seen := map[int]string{}
	for _, r := range x.Tokens {
		if r.Group == 0 {
			continue
		}
		if other, ok := seen[r.Group]; ok && other != r.Param {
			t.Errorf("group %d used by %s and %s", r.Group, other, r.Param)
		}
		seen[r.Group] = r.Param
	}
}

func TestExtract_RejectsWrongOrUnknownType(t *testing.T) {
	if _, err := Extract("Patient", []byte(`{"resourceType":"Observation"}`)); err == nil {
		t.Error("a body of another type was accepted")
	}
	if _, err := Extract("Nope", []byte(`{"resourceType":"Nope"}`)); err == nil {
		t.Error("an unknown type was accepted")
	}
	if _, err := Extract("Patient", []byte(`[1]`)); err == nil {
		t.Error("a non-object body was accepted")
	}
}

// An Extractor gives exactly Extract's rows of the parameters it keeps
// (composite groups aside, which it numbers among the composites it keeps).
func TestExtractor_GivesTheRowsOfTheParametersItKeeps(t *testing.T) {
	body := []byte(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
		"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-02T10:00:00Z",
		"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}}]}`)
	keep := func(p *Param) bool { return !strings.HasPrefix(p.Code, "combo-") && p.Code != "code-value-quantity" }
	all, err := Extract("Observation", body)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewExtractor("Observation", keep)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Extract(body)
	if err != nil {
		t.Fatal(err)
	}
	ungroup := func(x *Index) *Index {
		c := *x
		c.Tokens = slices.Clone(x.Tokens)
		for i := range c.Tokens {
			c.Tokens[i].Group = 0
		}
		c.Quantities = slices.Clone(x.Quantities)
		for i := range c.Quantities {
			c.Quantities[i].Group = 0
		}
		return &c
	}
	kept := func(code string) bool { p, _ := Lookup("Observation", code); return p != nil && keep(p) }
	want, have := ungroup(all), ungroup(got)
	if w := where(want.Tokens, func(r TokenRow) bool { return kept(r.Param) }); !slices.Equal(have.Tokens, w) {
		t.Errorf("tokens %+v\nwant %+v", have.Tokens, w)
	}
	if w := where(want.Quantities, func(r QuantityRow) bool { return kept(r.Param) }); !slices.Equal(have.Quantities, w) {
		t.Errorf("quantities %+v\nwant %+v", have.Quantities, w)
	}
	if !slices.Equal(got.References, all.References) || !slices.Equal(got.Dates, all.Dates) {
		t.Errorf("references or dates differ: %+v %+v", got.References, got.Dates)
	}
	for _, r := range got.Tokens {
		if !kept(r.Param) {
			t.Errorf("row of %s, which the Extractor does not keep", r.Param)
		}
	}
}
