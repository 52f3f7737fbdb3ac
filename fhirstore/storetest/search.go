package storetest

import (
	"context"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
)

// searchCase is one search over the seeded data and the ids it must match,
// in the default order (the order searchData writes them).
type searchCase struct {
	name, typ, query string
	want             string // comma-separated ids
}

var searchCases = []searchCase{
	// string: starts-with, case and accent insensitive; :exact; :contains; OR and AND
	{"String_DefaultIsCaseInsensitiveStartsWith", "Patient", "family=nord", "p1,p2"},
	{"String_UpperCaseMatches", "Patient", "family=NORDMANN", "p1,p2"},
	{"String_AccentsAndLigaturesFold", "Patient", "name=aero", "p3"},
	{"String_AccentedInputFolds", "Patient", "given=Åse", "p3"},
	{"String_Exact_IsCaseSensitive", "Patient", "family:exact=Nordmann", "p1,p2"},
	{"String_Exact_OtherCase_NoMatch", "Patient", "family:exact=nordmann", ""},
	{"String_Contains", "Patient", "family:contains=DMA", "p1,p2"},
	{"String_CommaIsOr", "Patient", "name=kari,olsen", "p1,p4"},
	{"String_RepeatIsAnd", "Patient", "family=nordmann&given=ola", "p2"},
	{"String_FollowsUpdate", "Patient", "family=hansen", ""},
	{"String_UpdatedValueMatches", "Patient", "family=olsen", "p4"},
	{"String_DeletedNeverMatches", "Patient", "given=slettet", ""},
	// token
	{"Token_Code", "Patient", "gender=female", "p1,p3"},
	{"Token_Not_IncludesResourcesWithoutValue", "Patient", "gender:not=female", "p2,p4"},
	{"Token_SystemAndCode", "Observation", "code=http://loinc.org|8867-4", "ob1,ob3,ob5"},
	{"Token_CodeAnySystem", "Observation", "code=8867-4", "ob1,ob3,ob5"},
	{"Token_NoSystem", "Observation", "code=|8867-4", ""},
	{"Token_SystemOnly", "Observation", "code=http://loinc.org|", "ob1,ob2,ob3,ob4,ob5"},
	{"Token_Text_MatchesDisplay", "Observation", "code:text=heart", "ob1,ob3,ob5"},
	{"Token_Text_MatchesConceptText", "Observation", "code:text=blodtrykk", "ob4"},
	{"Token_Identifier", "Patient", "identifier=" + nin + "|13028012345", "p1"},
	{"Token_OfType", "Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|NI|13028012345", "p1"},
	{"Token_Boolean", "Patient", "active=true", "p1"},
	{"Token_ID", "Patient", "_id=p3,p1", "p1,p3"},
	{"Token_Tag", "Patient", "_tag=urn:test|vip", "p2"},
	{"Token_Missing", "Patient", "gender:missing=true", "p4"},
	// reference
	{"Reference_TypeAndID", "Observation", "subject=Patient/p1", "ob1,ob2"},
	{"Reference_IDOnly", "Observation", "subject=p1", "ob1,ob2"},
	{"Reference_TypeModifier", "Observation", "subject:Patient=p2", "ob3,ob5"},
	{"Reference_AbsoluteURLOfThisServer", "Observation", "patient=" + searchBase + "/Patient/p1", "ob1,ob2"},
	{"Reference_Identifier", "Observation", "subject:identifier=" + nin + "|13028012345", "ob2"},
	{"Reference_Missing", "Patient", "organization:missing=true", "p3,p4"},
	{"Reference_MissingFalse", "Patient", "organization:missing=false", "p1,p2"},
	// date: the value's precision makes a range; prefixes compare ranges
	{"Date_Year", "Patient", "birthdate=1980", "p1"},
	{"Date_Day", "Patient", "birthdate=1980-02-03", "p1"},
	{"Date_MonthValueNotInDay", "Patient", "birthdate=1975-06-15", ""},
	{"Date_MonthValueInYear", "Patient", "birthdate=1975", "p2"},
	{"Date_LT", "Patient", "birthdate=lt1976", "p2"},
	{"Date_GE", "Patient", "birthdate=ge1980", "p1,p3"},
	{"Date_GT", "Patient", "birthdate=gt1980-02-03", "p3"},
	{"Date_LE", "Patient", "birthdate=le1980-02-03", "p1,p2"},
	{"Date_Missing", "Patient", "birthdate:missing=true", "p4"},
	{"Date_EQ_DayContainsInstant", "Observation", "date=2013-01-14", "ob1,ob2"},
	{"Date_GE_DayOverlapsLaterTime", "Observation", "date=ge2013-01-14T10:00", "ob1,ob2,ob4,ob5"},
	{"Date_LT_DayOverlapsEarlierTime", "Observation", "date=lt2013-01-14T10:00", "ob1,ob3"},
	{"Date_SA_PeriodStartsAfter", "Observation", "date=sa2013-01-12", "ob1,ob2,ob4,ob5"},
	{"Date_EB_PeriodEndsBefore", "Observation", "date=eb2013-01-13", "ob3"},
	{"Date_NE", "Observation", "date=ne2013-01-14", "ob3,ob4,ob5"},
	{"Date_AP", "Observation", "date=ap2014-05-01", "ob4"},
	{"Date_TimeZoneApplies", "Observation", "date=2013-01-15T08:00:00Z", "ob5"},
	{"Date_RangeByTwoParams", "Observation", "date=ge2013-01-14&date=lt2013-01-15", "ob1,ob2"},
	{"Date_LastUpdated", "Observation", "_lastUpdated=ge2026-01-01", "ob1,ob2,ob3,ob4,ob5"},
	// number
	{"Number_EQ_PrecisionRange", "RiskAssessment", "probability=0.8", "r1"},
	{"Number_EQ_UpperBoundOpen", "RiskAssessment", "probability=0.3", ""},
	{"Number_GT", "RiskAssessment", "probability=gt0.5", "r1"},
	{"Number_LT", "RiskAssessment", "probability=lt0.5", "r2"},
	{"Number_AP", "RiskAssessment", "probability=ap0.36", "r2"},
	// quantity
	{"Quantity_ValueSystemCode", "Observation", "value-quantity=5.4|http://unitsofmeasure.org|mg", "ob2"},
	{"Quantity_ValueOnly", "Observation", "value-quantity=5.4", "ob2"},
	{"Quantity_CoarsePrecisionWidens", "Observation", "value-quantity=5", "ob2"},
	{"Quantity_FinePrecision", "Observation", "value-quantity=5.40", "ob2"},
	{"Quantity_100IsRange", "Observation", "value-quantity=100", "ob3,ob5"},
	{"Quantity_GT", "Observation", "value-quantity=gt99", "ob3,ob5"},
	{"Quantity_CodeWithoutSystem", "Observation", "value-quantity=lt10||mg", "ob2"},
	{"Quantity_OtherUnit", "Observation", "value-quantity=5.4|http://unitsofmeasure.org|g", ""},
	// composite: components must come from one element
	{"Composite_ComponentCodeValue", "Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100", "ob4"},
	{"Composite_ComponentsOfOneElementOnly", "Observation", "component-code-value-quantity=http://loinc.org|8480-6$lt100", ""},
	{"Composite_CodeValue", "Observation", "code-value-quantity=http://loinc.org|8867-4$lt80", "ob1"},
	{"Composite_CodeValue_NoMatch", "Observation", "code-value-quantity=http://loinc.org|8867-4$gt100", ""},
	{"Composite_Combo_FromResource", "Observation", "combo-code-value-quantity=http://loinc.org|8867-4$lt80", "ob1"},
	{"Composite_Combo_FromComponent", "Observation", "combo-code-value-quantity=http://loinc.org|8480-6$gt100", "ob4"},
	{"Token_Combo_ResourceOrComponent", "Observation", "combo-code=8480-6,29463-7", "ob2,ob4"},
	{"Reference_PatientIsSubjectOfTypePatient", "Observation", "patient=p2", "ob3,ob5"},
	// uri
	{"URI_Equals", "Patient", "_profile=http://example.org/fhir/StructureDefinition/no-basis-Patient", "p1"},
	{"URI_Below", "Patient", "_profile:below=http://example.org/fhir", "p1,p2"},
	{"URI_Above", "Patient", "_profile:above=http://example.org/fhir/StructureDefinition/no-basis-Patient/x", "p1"},
	// chains and reverse chains
	{"Chain_TypedOneLevel", "Observation", "subject:Patient.name=kari", "ob1,ob2"},
	{"Chain_Untyped", "Observation", "subject.family=nordmann", "ob1,ob2,ob3,ob5"},
	{"Chain_TwoLevels", "Observation", "subject:Patient.organization.name=haukeland", "ob3,ob5"},
	{"Has_Code", "Patient", "_has:Observation:subject:code=29463-7", "p1"},
	{"Has_Quantity", "Patient", "_has:Observation:patient:value-quantity=gt99", "p2"},
	{"Has_Nested", "Organization", "_has:Patient:organization:_has:Observation:subject:code=29463-7", "o1"},
}

func testSearchParameters(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	ctx := context.Background()
	for _, tc := range searchCases {
		t.Run(tc.name, func(t *testing.T) {
			q := parseSearch(t, tc.typ, tc.query)
			p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: q})
			if err != nil {
				t.Fatalf("%s?%s: %v", tc.typ, tc.query, err)
			}
			if got := strings.Join(ids(p.Matches), ","); got != tc.want {
				t.Errorf("%s?%s = [%s], want [%s]", tc.typ, tc.query, got, tc.want)
			}
			if want := len(strings.Split(tc.want, ",")); tc.want != "" && p.Total != want {
				t.Errorf("total %d, want %d", p.Total, want)
			}
		})
	}
}

func testSearchSort(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	tests := []struct{ typ, query, want string }{
		{"Patient", "_sort=birthdate", "p2,p1,p3,p4"},
		{"Patient", "_sort=-birthdate", "p3,p1,p2,p4"},
		{"Patient", "_sort=family,-given", "p3,p2,p1,p4"},
		{"Patient", "_sort=-_id", "p4,p3,p2,p1"},
		{"Observation", "_sort=-date&_count=2", "ob4,ob5"},
		{"Observation", "_sort=status,value-quantity", "ob2,ob1,ob5,ob4,ob3"},
	}
	for _, tt := range tests {
		p, err := s.Search(context.Background(), sb, fhirstore.SearchQuery{Query: parseSearch(t, tt.typ, tt.query)})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ids(p.Matches), ","); got != tt.want {
			t.Errorf("%s?%s = [%s], want [%s]", tt.typ, tt.query, got, tt.want)
		}
	}
}

func testSearchInclude(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	tests := []struct{ typ, query, matches, included string }{
		{"Observation", "code=29463-7&_include=Observation:subject", "ob2", "p1"},
		{"Observation", "subject=Patient/p1&_include=Observation:subject&_include:iterate=Patient:organization", "ob1,ob2", "p1,o1"},
		{"Observation", "subject=Patient/p1&_include=Observation:subject&_include=Patient:organization", "ob1,ob2", "p1"},
		{"Patient", "_id=p1&_revinclude=Observation:subject", "p1", "ob1,ob2"},
		{"Patient", "_id=p2&_include=*", "p2", "o2"},
		{"Organization", "_id=o1&_revinclude=Patient:organization&_revinclude:iterate=Observation:subject", "o1", "p1,ob1,ob2"},
		{"Observation", "code=29463-7&_include=Observation:subject:Group", "ob2", ""},
	}
	for _, tt := range tests {
		p, err := s.Search(context.Background(), sb, fhirstore.SearchQuery{Query: parseSearch(t, tt.typ, tt.query)})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ids(p.Matches), ","); got != tt.matches {
			t.Errorf("%s?%s matches [%s], want [%s]", tt.typ, tt.query, got, tt.matches)
		}
		if got := strings.Join(ids(p.Included), ","); got != tt.included {
			t.Errorf("%s?%s included [%s], want [%s]", tt.typ, tt.query, got, tt.included)
		}
	}
}

func testSearchCompartmentAndSystem(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	ctx := context.Background()
	q := parseSearch(t, "Observation", "")
	q.Compartment = &search.Compartment{Type: "Patient", ID: "p2"}
	p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: q})
	if err != nil || strings.Join(ids(p.Matches), ",") != "ob3,ob5" {
		t.Errorf("Patient/p2/Observation = %v %v", ids(p.Matches), err)
	}
	q = parseSearch(t, "", "_type=Patient,Organization&_id=p1,o2")
	p, err = s.Search(ctx, sb, fhirstore.SearchQuery{Query: q})
	if err != nil || strings.Join(ids(p.Matches), ",") != "o2,p1" {
		t.Errorf("system search = %v %v", ids(p.Matches), err)
	}
	q = parseSearch(t, "", "_tag=urn:test|vip")
	p, err = s.Search(ctx, sb, fhirstore.SearchQuery{Query: q})
	if err != nil || strings.Join(ids(p.Matches), ",") != "p2" {
		t.Errorf("all-types search = %v %v", ids(p.Matches), err)
	}
}

func testSearchIsolation(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	ctx := context.Background()
	for _, query := range []string{"family=nordmann", "_id=p1&_revinclude=Observation:subject", "_has:Observation:subject:code=8867-4"} {
		p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: parseSearch(t, "Patient", query)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range append(p.Matches, p.Included...) {
			if r.ID == "zo1" {
				t.Errorf("Patient?%s in %s returned the other sandbox's %s/%s", query, sb, r.Type, r.ID)
			}
		}
		if query == "_has:Observation:subject:code=8867-4" && strings.Join(ids(p.Matches), ",") != "p1,p2" {
			t.Errorf("_has = %v", ids(p.Matches))
		}
	}
	p, err := s.Search(ctx, "other", fhirstore.SearchQuery{Query: parseSearch(t, "Observation", "subject:Patient.organization:missing=false")})
	if err != nil || len(p.Matches) != 0 {
		t.Errorf("chain across sandboxes: %v %v", ids(p.Matches), err)
	}
}

func testSearchTotals(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	tests := []struct {
		query string
		total int
	}{
		{"family=nordmann&_total=accurate&_count=1", 2},
		{"family=nordmann&_total=none", -1},
		{"family=nordmann&_count=1", 2},
		{"family=nordmann&_count=0", 2},
	}
	for _, tt := range tests {
		p, err := s.Search(context.Background(), sb, fhirstore.SearchQuery{Query: parseSearch(t, "Patient", tt.query)})
		if err != nil || p.Total != tt.total {
			t.Errorf("Patient?%s total %d (%v), want %d", tt.query, p.Total, err, tt.total)
		}
	}
}

// A count (_summary=count: no page, _total=accurate) of every search case,
// and of whole types, is the number of its matches: deleted resources,
// other sandboxes and other types left out, however the store counts
// (from index rows alone where it can).
func testSearchCounts(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	ctx := context.Background()
	count := func(typ, query string) int {
		t.Helper()
		q := parseSearch(t, typ, query)
		q.Count, q.Total = 0, search.TotalAccurate
		p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: q})
		if err != nil {
			t.Fatalf("%s?%s: %v", typ, query, err)
		}
		return p.Total
	}
	for _, tc := range searchCases {
		want := 0
		if tc.want != "" {
			want = len(strings.Split(tc.want, ","))
		}
		if got := count(tc.typ, tc.query); got != want {
			t.Errorf("%s?%s counts %d, want %d", tc.typ, tc.query, got, want)
		}
	}
	for _, typ := range []string{"Patient", "Observation", "Organization", "Encounter"} {
		p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: parseSearch(t, typ, "_count=1000")})
		if err != nil {
			t.Fatal(err)
		}
		if got := count(typ, ""); got != len(p.Matches) {
			t.Errorf("%s counts %d, want %d (%v)", typ, got, len(p.Matches), ids(p.Matches))
		}
	}
	if got := count("Patient", "family=nordmann&gender=female,male&birthdate=ge1900&birthdate=lt2100"); got != 2 {
		t.Errorf("Patient with three filters counts %d, want 2", got)
	}
}

// Numbers and quantities compared with every prefix match points and
// Ranges alike, a Range by its bounds: greater than a value when its high
// bound is, though it starts below (the store reads such Ranges apart
// from the points, see sqlstore's search_number.go).
func testSearchNumberRanges(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	for _, body := range []string{
		`{"resourceType":"RiskAssessment","id":"pt2","status":"final","subject":{"reference":"Patient/p1"},"prediction":[{"probabilityDecimal":0.2}]}`,
		`{"resourceType":"RiskAssessment","id":"rg4-6","status":"final","subject":{"reference":"Patient/p1"},"prediction":[{"probabilityRange":{"low":{"value":0.4},"high":{"value":0.6}}}]}`,
		`{"resourceType":"RiskAssessment","id":"pt5","status":"final","subject":{"reference":"Patient/p1"},"prediction":[{"probabilityDecimal":0.5}]}`,
		`{"resourceType":"RiskAssessment","id":"rg1-9","status":"final","subject":{"reference":"Patient/p1"},"prediction":[{"probabilityRange":{"low":{"value":0.1},"high":{"value":0.9}}}]}`,
		`{"resourceType":"RiskAssessment","id":"pt8","status":"final","subject":{"reference":"Patient/p1"},"prediction":[{"probabilityDecimal":0.8}]}`,
		`{"resourceType":"ActivityDefinition","id":"q15","status":"active","useContext":[{"code":{"system":"http://terminology.hl7.org/CodeSystem/usage-context-type","code":"age"},
			"valueQuantity":{"value":15,"system":"http://unitsofmeasure.org","code":"a"}}]}`,
		`{"resourceType":"ActivityDefinition","id":"q10-20","status":"active","useContext":[{"code":{"system":"http://terminology.hl7.org/CodeSystem/usage-context-type","code":"age"},
			"valueRange":{"low":{"value":10,"system":"http://unitsofmeasure.org","code":"a"},"high":{"value":20,"system":"http://unitsofmeasure.org","code":"a"}}}]}`,
		`{"resourceType":"ActivityDefinition","id":"q30","status":"active","useContext":[{"code":{"system":"http://terminology.hl7.org/CodeSystem/usage-context-type","code":"age"},
			"valueQuantity":{"value":30,"system":"http://unitsofmeasure.org","code":"a"}}]}`,
	} {
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, sb, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	const ucum = "|http://unitsofmeasure.org|a"
	for _, tc := range []struct{ typ, query, want string }{
		{"RiskAssessment", "probability=gt0.5", "rg4-6,rg1-9,pt8"},
		{"RiskAssessment", "probability=ge0.6", "rg4-6,rg1-9,pt8"},
		{"RiskAssessment", "probability=gt0.7", "rg1-9,pt8"}, // a Range's bounds widen by their precision: 0.6 reaches 0.65
		{"RiskAssessment", "probability=ge0.5", "rg4-6,pt5,rg1-9,pt8"},
		{"RiskAssessment", "probability=gt0.95", ""},
		{"RiskAssessment", "probability=lt0.3", "pt2,rg1-9"},
		{"RiskAssessment", "probability=le0.4", "pt2,rg4-6,rg1-9"},
		{"RiskAssessment", "probability=sa0.3", "rg4-6,pt5,pt8"},
		{"RiskAssessment", "probability=eb0.7", "pt2,rg4-6,pt5"},
		{"RiskAssessment", "probability=0.5", "pt5"},
		{"RiskAssessment", "probability=ap0.5", "rg4-6,pt5,rg1-9"},
		{"RiskAssessment", "probability=ap0.1", "rg1-9"},
		{"RiskAssessment", "probability=gt0.85,lt0.15", "rg1-9"},
		{"RiskAssessment", "probability=gt0.7&probability=lt0.3", "rg1-9"},
		{"ActivityDefinition", "context-quantity=gt16" + ucum, "q10-20,q30"},
		{"ActivityDefinition", "context-quantity=ge20" + ucum, "q10-20,q30"},
		{"ActivityDefinition", "context-quantity=gt21" + ucum, "q30"},
		{"ActivityDefinition", "context-quantity=lt12" + ucum, "q10-20"},
		{"ActivityDefinition", "context-quantity=15" + ucum, "q15"},
		{"ActivityDefinition", "context-quantity=gt16", "q10-20,q30"},
		{"ActivityDefinition", "context-quantity=gt16||a", "q10-20,q30"},
	} {
		p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: parseSearch(t, tc.typ, tc.query+"&_total=accurate")})
		if err != nil {
			t.Fatalf("%s?%s: %v", tc.typ, tc.query, err)
		}
		if got := strings.Join(ids(p.Matches), ","); got != tc.want {
			t.Errorf("%s?%s = [%s], want [%s]", tc.typ, tc.query, got, tc.want)
		}
		if want := len(ids(p.Matches)); p.Total != want {
			t.Errorf("%s?%s total %d, want %d", tc.typ, tc.query, p.Total, want)
		}
	}
}
