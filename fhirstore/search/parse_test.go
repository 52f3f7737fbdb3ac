package search

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore/outcome"
)

func parse(t *testing.T, typ, query string) (*Query, error) {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(typ, v, Options{Base: "http://sandbox.test/fhir"})
}

func TestParse_MalformedValues_Are400NamingTheParameter(t *testing.T) {
	tests := []struct{ typ, query, param string }{
		{"Patient", "birthdate=1980-13-01", "birthdate"},
		{"Patient", "birthdate=xx1980", "birthdate"},
		{"Patient", "birthdate=gt1980-02-30", "birthdate"},
		{"Patient", "birthdate=1980-01-01T10", "birthdate"},
		{"Observation", "value-quantity=abc", "value-quantity"},
		{"Observation", "value-quantity=5.4|http://unitsofmeasure.org", "value-quantity"},
		{"Observation", "value-quantity=zz5", "value-quantity"},
		{"RiskAssessment", "probability=1.2.3", "probability"},
		{"Observation", "code=a|b|c", "code"},
		{"Observation", "code:below=x", "code:below"},
		{"Observation", "subject=Nope/1", "subject"},
		{"Observation", "subject:Patient=Group/1", "subject:Patient"},
		{"Observation", "code-value-quantity=http://loinc.org|8480-6", "code-value-quantity"},
		{"Patient", "name:missing=maybe", "name:missing"},
		{"Patient", "_count=-1", "_count"},
		{"Patient", "_count=ten", "_count"},
		{"Patient", "_total=some", "_total"},
		{"Patient", "_summary=short", "_summary"},
		{"Patient", "_sort=nosuch", "_sort"},
		{"Patient", "_include=Observation:nosuch", "_include"},
		{"Patient", "_include=Observation", "_include"},
		{"Patient", "_revinclude:deep=Observation:subject", "_revinclude:deep"},
		{"Patient", "_text=cancer", "_text"},
		{"Patient", "_content=cancer", "_content"},
		{"Patient", "_filter=name eq x", "_filter"},
		{"Patient", "_query=current", "_query"},
		{"Observation", "subject.nosuch=x", "subject.nosuch"},
		{"Observation", "code.name=x", "code.name"},
		{"Patient", "_has:Observation:nosuch:code=x", "_has:Observation:nosuch:code"},
		{"Patient", "_has:Observation:patient", "_has:Observation:patient"},
		{"", "_type=Nope", "_type"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := parse(t, tt.typ, tt.query)
			var oe *outcome.Error
			if !errors.As(err, &oe) || oe.Category != outcome.Incorrect {
				t.Fatalf("err %v, want a 400 outcome", err)
			}
			if len(oe.Issues[0].Expression) == 0 || oe.Issues[0].Expression[0] != tt.param {
				t.Errorf("issue names %v, want %s", oe.Issues[0].Expression, tt.param)
			}
		})
	}
}

func TestParse_UnknownParameters_AreIgnoredNotErrors(t *testing.T) {
	q, err := parse(t, "Patient", "nmae=x&name=y&_format=json&near=1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(q.Ignored, ",") != "near,nmae" || len(q.Filters) != 1 {
		t.Errorf("ignored %v filters %d", q.Ignored, len(q.Filters))
	}
}

func TestParse_CommaIsOrAndRepeatIsAnd(t *testing.T) {
	q, err := parse(t, "Observation", "code=a,b&code=c&status=final")
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Filters) != 3 || len(q.Filters[0].Values) != 2 || len(q.Filters[1].Values) != 1 {
		t.Fatalf("filters %+v", q.Filters)
	}
}

func TestParse_TokenForms(t *testing.T) {
	tests := []struct {
		raw                string
		system, code       string
		hasSystem, escaped bool
	}{
		{"http://loinc.org|8867-4", "http://loinc.org", "8867-4", true, false},
		{"|8867-4", "", "8867-4", true, false},
		{"http://loinc.org|", "http://loinc.org", "", true, false},
		{"8867-4", "", "8867-4", false, false},
		{`a\|b`, "", "a|b", false, true},
	}
	for _, tt := range tests {
		q, err := parse(t, "Observation", "code="+url.QueryEscape(tt.raw))
		if err != nil {
			t.Fatal(err)
		}
		v := q.Filters[0].Values[0]
		if v.System != tt.system || v.Code != tt.code || v.HasSystem != tt.hasSystem {
			t.Errorf("%s: %+v", tt.raw, v)
		}
	}
}

func TestParse_DatePrecisionGivesRange(t *testing.T) {
	ms := func(s string) int64 { t, _ := time.Parse(time.RFC3339, s); return t.UnixMilli() }
	tests := []struct{ raw, low, high string }{
		{"2013", "2013-01-01T00:00:00Z", "2014-01-01T00:00:00Z"},
		{"2013-02", "2013-02-01T00:00:00Z", "2013-03-01T00:00:00Z"},
		{"2013-01-14", "2013-01-14T00:00:00Z", "2013-01-15T00:00:00Z"},
		{"2013-01-14T10:00", "2013-01-14T10:00:00Z", "2013-01-14T10:01:00Z"},
		{"2013-01-14T10:00:00+01:00", "2013-01-14T09:00:00Z", "2013-01-14T09:00:01Z"},
	}
	for _, tt := range tests {
		lo, hi, ok := ParseDate(tt.raw)
		if !ok || lo != ms(tt.low) || hi != ms(tt.high) {
			t.Errorf("%s: [%d,%d) ok=%v, want [%s,%s)", tt.raw, lo, hi, ok, tt.low, tt.high)
		}
	}
}

func TestParse_NumberPrecisionGivesRange(t *testing.T) {
	tests := []struct {
		raw       string
		low, high float64
	}{{"100", 99.5, 100.5}, {"100.0", 99.95, 100.05}, {"1e2", 50, 150}, {"5.4", 5.35, 5.45}}
	for _, tt := range tests {
		_, lo, hi, ok := ParseNumber(tt.raw)
		if !ok || abs(lo-tt.low) > 1e-9 || abs(hi-tt.high) > 1e-9 {
			t.Errorf("%s: [%v,%v)", tt.raw, lo, hi)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestParse_ChainHasIncludeSort(t *testing.T) {
	q, err := parse(t, "Observation", "subject:Patient.organization.name=x&_has:Provenance:target:agent=Practitioner/1"+
		"&_include=Observation:subject&_revinclude:iterate=Provenance:target&_sort=-date,_id&_total=accurate")
	if err != nil {
		t.Fatal(err)
	}
	var chain, has *Filter
	for _, f := range q.Filters {
		if f.Chain != nil {
			chain = f
		}
		if f.Has != nil {
			has = f
		}
	}
	if chain == nil || chain.Chain.Types[0] != "Patient" || chain.Chain.Filter.Chain == nil ||
		chain.Chain.Filter.Chain.Filter.Param.Code != "name" {
		t.Errorf("chain %+v", chain)
	}
	if has == nil || has.Has.Type != "Provenance" || has.Has.Filter.Values[0].RefID != "1" {
		t.Errorf("has %+v", has)
	}
	if len(q.Include) != 1 || q.Include[0].Param.Code != "subject" || len(q.RevInclude) != 1 || !q.RevInclude[0].Iterate {
		t.Errorf("includes %+v %+v", q.Include, q.RevInclude)
	}
	if len(q.Sort) != 2 || !q.Sort[0].Desc || q.Sort[1].Param.Code != "_id" || q.Total != TotalAccurate {
		t.Errorf("sort %+v total %s", q.Sort, q.Total)
	}
}

func TestParse_LocalAbsoluteReferenceIsRelative(t *testing.T) {
	q, err := parse(t, "Observation", "subject=http://sandbox.test/fhir/Patient/p1&performer=http://other.org/fhir/Practitioner/9")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range q.Filters {
		v := f.Values[0]
		switch f.Param.Code {
		case "subject":
			if v.RefType != "Patient" || v.RefID != "p1" || v.RefURL != "" {
				t.Errorf("local %+v", v)
			}
		case "performer":
			if v.RefURL != "http://other.org/fhir/Practitioner/9" {
				t.Errorf("remote %+v", v)
			}
		}
	}
}

func TestSubset_ElementsKeepsNamedAndMandatory(t *testing.T) {
	body := []byte(`{"resourceType":"Patient","id":"p","meta":{"versionId":"1"},"text":{"status":"generated"},"name":[{"family":"A"}],"birthDate":"1980","deceasedBoolean":false}`)
	out, err := Subset(body, "Patient", SummaryNone, []string{"name", "deceased"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if !strings.Contains(s, `"name"`) || !strings.Contains(s, "deceasedBoolean") || strings.Contains(s, "birthDate") ||
		strings.Contains(s, `"text"`) || !strings.Contains(s, "SUBSETTED") {
		t.Errorf("subset %s", s)
	}
}

func TestParse_TargetTypesInDiagnosticsTakeTheirArticle(t *testing.T) {
	tests := []struct{ typ, query, want string }{
		{"Observation", "_include=Observation:subject:Encounter", "Observation.subject cannot refer to an Encounter"},
		{"Observation", "subject:Encounter.name=x", "subject cannot refer to an Encounter"},
		{"Observation", "subject:Patient.name=x&_include=Observation:subject:Medication", "Observation.subject cannot refer to a Medication"},
		{"Encounter", "_has:Patient:link:name=x", "Patient.link cannot refer to an Encounter"},
	}
	for _, tt := range tests {
		_, err := parse(t, tt.typ, tt.query)
		var oe *outcome.Error
		if !errors.As(err, &oe) || !strings.Contains(oe.Issues[0].Diagnostics, tt.want) {
			t.Errorf("%s?%s: error %v, want %q", tt.typ, tt.query, err, tt.want)
		}
	}
}

func TestParse_Repeats_AreDroppedSilently(t *testing.T) {
	q, err := parse(t, "Observation", "code=a,b,a&code=a,b,a&subject=Patient/1&_sort=date,-date,code,date"+
		"&_include=Observation:subject&_include:iterate=Observation:subject&_include=Observation:subject&_revinclude=*&_revinclude=*")
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Filters) != 2 {
		t.Fatalf("%d filters, want code and subject once each", len(q.Filters))
	}
	for _, f := range q.Filters {
		if f.Param.Code == "code" && len(f.Values) != 2 {
			t.Errorf("code has %d values, want a and b", len(f.Values))
		}
	}
	if len(q.Sort) != 2 || q.Sort[0].Param.Code != "date" || q.Sort[0].Desc || q.Sort[1].Param.Code != "code" {
		t.Errorf("sort %+v, want date then code", q.Sort)
	}
	if len(q.Include) != 1 || !q.Include[0].Iterate || len(q.RevInclude) != 1 {
		t.Errorf("includes %+v revincludes %+v, want Observation:subject iterating and * once", q.Include, q.RevInclude)
	}
}
