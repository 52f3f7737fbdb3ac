package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// list is n comma-separated values made by f.
func list(n int, f func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = f(i)
	}
	return strings.Join(parts, ",")
}

// repeat is n occurrences of key, the values made by f.
func repeat(key string, n int, f func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = key + "=" + url.QueryEscape(f(i))
	}
	return strings.Join(parts, "&")
}

// revincludes are distinct reverse includes, more than MaxIncludes.
var revincludes = []string{
	"Observation:subject", "Observation:patient", "Observation:performer", "Observation:focus", "Observation:encounter",
	"Observation:based-on", "Observation:derived-from", "Observation:has-member", "Observation:part-of", "Observation:specimen",
	"Observation:device", "RiskAssessment:subject", "RiskAssessment:patient", "RiskAssessment:performer", "Encounter:subject",
	"Encounter:patient", "Condition:subject", "Condition:patient", "Procedure:subject", "Procedure:patient",
	"MedicationRequest:subject", "MedicationRequest:patient",
}

// pastSQLite is more values than SQLite's own limits allowed in one
// parameter before they were compiled as balanced trees (some 500: the
// expression depth of 1,000, and 500 terms of a compound SELECT); the
// costlier kinds of parameter are tried with this many rather than with
// MaxValues, which takes long under the race detector.
const pastSQLite = 600

// limitCases are searches as large as the limits allow, of every kind of
// parameter: each must work, and match what its one real value matches.
var limitCases = []struct {
	name, typ, query, want string
}{
	{"TokenCodes", "Observation", "code=" + list(search.MaxValues-1, func(i int) string { return fmt.Sprintf("c%d", i) }) + ",29463-7", "ob2"},
	{"TokenSystemCodes", "Observation", "code=" + list(search.MaxValues-1, func(i int) string { return fmt.Sprintf("http://loinc.org|c%d", i) }) + ",http://loinc.org|29463-7", "ob2"},
	{"TokenNot", "Patient", "gender:not=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("g%d", i) }) + ",female", "p2,p4"},
	{"TokenText", "Observation", "code:text=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("t%d", i) }) + ",blodtrykk", "ob4"},
	{"String", "Patient", "family=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("f%d", i) }) + ",olsen", "p4"},
	{"StringParams", "Patient", repeat("name", search.MaxParameters, func(i int) string { return fmt.Sprintf("olsen,n%d", i) }), "p4"},
	{"ID", "Patient", "_id=" + list(search.MaxValues-1, func(i int) string { return fmt.Sprintf("x%d", i) }) + ",p3", "p3"},
	{"IDParams", "Patient", repeat("_id:not", search.MaxParameters, func(i int) string { return fmt.Sprintf("x%d", i) }), "p1,p2,p3,p4"},
	{"Reference", "Observation", "subject=" + list(search.MaxValues-1, func(i int) string { return fmt.Sprintf("Patient/x%d", i) }) + ",Patient/p2", "ob3,ob5"},
	{"Date", "Observation", "date=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("19%02d", i%100) }) + ",2014-05-01", "ob4"},
	{"DateParams", "Patient", repeat("birthdate", search.MaxParameters, func(i int) string { return fmt.Sprintf("le%d", 2000+i) }), "p1,p2"},
	{"Number", "RiskAssessment", "probability=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("%d", 2+i) }) + ",0.8", "r1"},
	{"Quantity", "Observation", "value-quantity=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("%d|http://unitsofmeasure.org|kg", 1000+i) }) + ",5.4", "ob2"},
	{"URI", "Patient", "_profile=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("http://x/%d", i) }) + ",http://example.org/fhir/StructureDefinition/other", "p2"},
	{"Composite", "Observation", "component-code-value-quantity=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("http://loinc.org|c%d$gt1", i) }) + ",http://loinc.org|8480-6$gt100", "ob4"},
	{"CompositeOfResource", "Observation", "code-value-quantity=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("c%d$gt1", i) }) + ",http://loinc.org|8867-4$lt80", "ob1"},
	{"Chain", "Observation", "subject:Patient.name=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("n%d", i) }) + ",kari", "ob1,ob2"},
	{"ChainParams", "Observation", repeat("subject.family", search.MaxParameters, func(i int) string { return "nordmann"[:1+i%8] }), "ob1,ob2,ob3,ob5"},
	{"Has", "Patient", "_has:Observation:subject:code=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("c%d", i) }) + ",29463-7", "p1"},
	{"Missing", "Patient", repeat("gender:missing", search.MaxParameters, func(i int) string { return "false" }), "p1,p2,p3"},
	{"LastUpdated", "Patient", "_lastUpdated=" + list(pastSQLite, func(i int) string { return fmt.Sprintf("19%02d", i%100) }) + ",ge2000", "p1,p2,p3,p4"},
	{"Mixed", "Patient", repeat("family", search.MaxParameters/2, func(i int) string { return "n" }) + "&" +
		repeat("birthdate", search.MaxParameters/2, func(i int) string { return fmt.Sprintf("le%d", 2000+i) }), "p1,p2"},
	{"SortKeys", "Patient", "_sort=gender,-birthdate,family,given,_id", "p3,p1,p2,p4"},
	{"SortKeysRepeated", "Patient", "_sort=" + list(1000, func(i int) string { return []string{"gender", "-gender", "-birthdate"}[i%3] }), "p3,p1,p2,p4"},
	{"IncludesRepeated", "Patient", "_id=p1&" + repeat("_include:iterate", 200, func(int) string { return "*" }) + "&" + repeat("_include", 200, func(int) string { return "*" }), "p1"},
	{"Includes", "Organization", "_id=o1&_revinclude=Patient:organization&" + repeat("_revinclude:iterate", search.MaxIncludes-1, func(i int) string {
		return revincludes[i]
	}), "o1"},
}

// testSearchLimits: searches up to the limits work, whatever kind of
// parameter fills them.
func testSearchLimits(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	for _, tc := range limitCases {
		t.Run(tc.name, func(t *testing.T) {
			q := parseSearch(t, tc.typ, tc.query+"&_total=accurate")
			p, err := s.Search(context.Background(), sb, fhirstore.SearchQuery{Query: q})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := strings.Join(ids(p.Matches), ","); got != tc.want {
				t.Errorf("%s matched [%s], want [%s]", tc.name, got, tc.want)
			}
		})
	}
}

// beyondLimits are searches beyond a limit, and the limit the refusal names.
var beyondLimits = []struct {
	name, typ, query, limit string
}{
	{"TooManyValues", "Patient", "_id=" + list(search.MaxValues+1, func(i int) string { return fmt.Sprintf("x%d", i) }), "MaxValues"},
	{"ThirtyThreeThousandIDs", "Patient", "_id=" + list(33000, func(i int) string { return fmt.Sprintf("x%d", i) }), "MaxValues"},
	{"TooManyValuesInAll", "Observation", "code=" + list(search.MaxValues/2, func(i int) string { return fmt.Sprintf("c%d", i) }) +
		"&subject=" + list(search.MaxValues/2+1, func(i int) string { return fmt.Sprintf("p%d", i) }), "MaxValues"},
	{"TooManyParameters", "Patient", repeat("name", search.MaxParameters+1, func(i int) string { return fmt.Sprintf("n%d", i) }), "MaxParameters"},
	{"ThousandParameters", "Patient", repeat("name", 1000, func(i int) string { return fmt.Sprintf("n%d", i) }), "MaxParameters"},
	{"TooManySortKeys", "Patient", "_sort=gender,-birthdate,family,given,_id,_lastUpdated", "MaxSortKeys"},
	{"TooManyIncludes", "Organization", repeat("_revinclude", search.MaxIncludes+1, func(i int) string { return revincludes[i] }), "MaxIncludes"},
}

// testSearchBeyondLimits: a search beyond a limit is a 400 (too-costly)
// that names the limit, before the store is asked.
func testSearchBeyondLimits(t *testing.T, s fhirstore.Store, c *Clock) {
	for _, tc := range beyondLimits {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = search.Parse(tc.typ, v, search.Options{Base: searchBase})
			var oe *outcome.Error
			if !errors.As(err, &oe) || oe.Category != outcome.Incorrect || oe.Issues[0].Code != outcome.TooCostly ||
				!strings.Contains(oe.Issues[0].Diagnostics, tc.limit) {
				t.Fatalf("%s: %v, want a 400 too-costly naming %s", tc.name, err, tc.limit)
			}
		})
	}
}

// testSearchTooLargeForTheStore: a search within the limits of package
// search that still needs more SQL parameters than the store's engine takes
// (a system search over every type, with the most parameters) is a 400
// that names the store's limit, not a 500; the same over fewer types works.
func testSearchTooLargeForTheStore(t *testing.T, s fhirstore.Store, c *Clock) {
	seedSearch(t, s)
	tags := repeat("_tag:not", search.MaxParameters, func(i int) string { return fmt.Sprintf("urn:t|%d", i) })
	every := strings.Join(searchparam.ResourceTypes(), ",")
	_, err := s.Search(context.Background(), sb, fhirstore.SearchQuery{Query: parseSearch(t, "", "_type="+every+"&"+tags)})
	var oe *outcome.Error
	if !errors.As(err, &oe) || oe.Category != outcome.Incorrect || oe.Issues[0].Code != outcome.TooCostly ||
		!strings.Contains(oe.Issues[0].Diagnostics, "maxArgs") {
		t.Errorf("system search of every type with %d parameters: %v, want a 400 too-costly naming maxArgs", search.MaxParameters, err)
	}
	p, err := s.Search(context.Background(), sb, fhirstore.SearchQuery{Query: parseSearch(t, "", "_type=Patient,Organization&"+tags)})
	if err != nil || len(p.Matches) != 6 {
		t.Errorf("system search of two types with %d parameters: %v %v", search.MaxParameters, ids(p.Matches), err)
	}
}
