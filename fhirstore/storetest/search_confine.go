package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
)

// confineData is a patient (me) whose own Observation points at another
// patient (focus), an encounter of that patient and a practitioner, and the
// other patient's record, which points back at me: every way a filter of a
// search confined to my compartment could look at a resource outside it.
var confineData = []string{
	`{"resourceType":"Practitioner","id":"dr","name":[{"family":"Lege"}]}`,
	`{"resourceType":"Patient","id":"me","name":[{"family":"Meg"}],"birthDate":"1990-05-05",
		"generalPractitioner":[{"reference":"Practitioner/dr"}]}`,
	`{"resourceType":"Patient","id":"other","name":[{"family":"Annen"}],"birthDate":"2001-07-07",
		"identifier":[{"system":"` + nin + `","value":"07070112345"}]}`,
	`{"resourceType":"Encounter","id":"enc-other","status":"finished",
		"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/other"}}`,
	`{"resourceType":"Observation","id":"theirs","status":"final",
		"code":{"coding":[{"system":"` + loinc + `","code":"2345-7"}]},
		"subject":{"reference":"Patient/other"},"focus":[{"reference":"Patient/me"}],
		"valueQuantity":{"value":12,"system":"http://unitsofmeasure.org","code":"mmol/L"}}`,
	`{"resourceType":"Observation","id":"mine","status":"final",
		"code":{"coding":[{"system":"` + loinc + `","code":"8867-4"}]},
		"subject":{"reference":"Patient/me"},"focus":[{"reference":"Patient/other"}],
		"encounter":{"reference":"Encounter/enc-other"},"performer":[{"reference":"Practitioner/dr"}],
		"valueQuantity":{"value":60,"system":"http://unitsofmeasure.org","code":"/min"}}`,
	`{"resourceType":"Observation","id":"linked","status":"final",
		"code":{"coding":[{"system":"` + loinc + `","code":"8867-4"}]},
		"subject":{"reference":"Patient/me"},"hasMember":[{"reference":"Observation/theirs"}]}`,
}

// seedConfinement writes confineData and returns two confinements to the
// compartment of Patient/me: of every type, and of Patients only.
func seedConfinement(t *testing.T, s fhirstore.Store) (every, patients *search.Confinement) {
	t.Helper()
	for _, b := range confineData {
		r, err := fhirjson.Parse([]byte(b))
		if err != nil {
			t.Fatalf("test resource invalid: %v\n%s", err, b)
		}
		if _, _, err := s.Update(context.Background(), sb, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	me := search.Compartment{Type: "Patient", ID: "me"}
	return &search.Confinement{Compartment: me}, &search.Confinement{Compartment: me, Types: []string{"Patient"}}
}

// searchConfined runs typ?query unconfined or under confine.
func searchConfined(t *testing.T, s fhirstore.Store, typ, query string, confine *search.Confinement, confined bool) *fhirstore.SearchPage {
	t.Helper()
	ctx := context.Background()
	if confined {
		ctx = search.ConfineTo(ctx, confine)
	}
	p, err := s.Search(ctx, sb, fhirstore.SearchQuery{Query: parseSearch(t, typ, query)})
	if err != nil {
		t.Fatalf("%s?%s (confined %v): %v", typ, query, confined, err)
	}
	return p
}

// constrained is a confinement of Observations to SMART v2 scope
// constraints (alternatives, each a query of filters that must all
// match), in the compartment of comp unless comp is the zero value.
func constrained(t *testing.T, comp search.Compartment, alternatives ...string) *search.Confinement {
	t.Helper()
	cs := []search.Constraint{}
	for _, a := range alternatives {
		cs = append(cs, search.Constraint(parseSearch(t, "Observation", a).Filters))
	}
	c := &search.Confinement{Compartment: comp, Constraints: map[string][]search.Constraint{"Observation": cs}}
	if comp.Type != "" {
		c.Types = []string{"Observation", "Patient"}
	}
	return c
}

func testSearchConfinement(t *testing.T, s fhirstore.Store, c *Clock) {
	every, patients := seedConfinement(t, s)
	excluded := &search.Confinement{Compartment: every.Compartment, Types: []string{"Patient"}, Excluded: []string{"Observation"}}
	var anywhere search.Compartment
	heartRate := constrained(t, anywhere, "code=8867-4")
	glucose := constrained(t, anywhere, "code=2345-7")
	either := constrained(t, anywhere, "code=2345-7", "code="+loinc+"|8867-4")
	none := constrained(t, anywhere)
	final := constrained(t, anywhere, "code=8867-4&status=final")
	amended := constrained(t, anywhere, "code=8867-4&status=amended")
	myGlucose := constrained(t, every.Compartment, "code=2345-7")
	myHeartRate := constrained(t, every.Compartment, "code=8867-4")
	tests := []struct {
		name, typ, query string
		confine          *search.Confinement
		// open is what the search matches unconfined (so that the case
		// can fail), confined what it must match confined.
		open, confined string
	}{
		{"Chain_TypedToOtherPatient", "Observation", "_id=mine&focus:Patient.birthdate=ge2001", every, "mine", ""},
		{"Chain_TypedToOtherPatient_Negated", "Observation", "_id=mine&focus:Patient.birthdate=lt2001", every, "", ""},
		{"Chain_UntypedToOtherPatient", "Observation", "_id=mine&focus.family=annen", every, "mine", ""},
		{"Chain_IdentifierOfOtherPatient", "Observation", "_id=mine&focus:Patient.identifier=07070112345", every, "mine", ""},
		{"Chain_ToOwnPatient_StillMatches", "Observation", "subject:Patient.family=meg", every, "mine,linked", "mine,linked"},
		{"Chain_TwoLevelsThroughOtherEncounter", "Observation", "_id=mine&encounter.subject:Patient.birthdate=ge2001", every, "mine", ""},
		{"Chain_ToEncounterOutsideCompartment", "Observation", "_id=mine&encounter:Encounter.status=finished", every, "mine", ""},
		{"Chain_ToPractitioner_NotInCompartment", "Observation", "_id=mine&performer:Practitioner.name=lege", every, "mine", ""},
		{"Chain_ToOtherPatientsObservation", "Observation", "_id=linked&has-member:Observation.value-quantity=gt10", every, "linked", ""},
		{"Chain_FromPatientToPractitioner", "Patient", "general-practitioner:Practitioner.family=lege", every, "me", ""},
		{"Has_OtherPatientsObservationPointingAtMe", "Patient", "_id=me&_has:Observation:focus:value-quantity=gt10", every, "me", ""},
		{"Has_OwnObservation_StillMatches", "Patient", "_has:Observation:subject:code=8867-4", every, "me", "me"},
		{"Has_InsideChain", "Observation", "_id=mine&subject:Patient._has:Observation:focus:code=2345-7", every, "mine", ""},
		{"Matches_OutsideCompartmentLeftOut", "Observation", "code=2345-7", every, "theirs", ""},
		{"System_ChainToOtherPatient", "", "_type=Observation&_id=mine&focus:Patient.birthdate=ge2001", every, "mine", ""},
		{"Sorted_MatchesOutsideLeftOut", "Observation", "_sort=code", every, "theirs,mine,linked", "mine,linked"},
		{"System_SortedMatchesOutsideLeftOut", "", "_type=Observation&_sort=-code", every, "linked,mine,theirs", "linked,mine"},
		{"System_MatchesOutsideLeftOut", "", "_id=mine,theirs,dr", every, "dr,theirs,mine", "mine"},
		{"TypesOnly_ChainToOtherPatientConfined", "Observation", "_id=mine&focus:Patient.birthdate=ge2001", patients, "mine", ""},
		{"TypesOnly_OtherTypesFree", "Observation", "code=2345-7", patients, "theirs", "theirs"},
		{"TypesOnly_ChainIntoFreeType", "Observation", "_id=linked&has-member:Observation.value-quantity=gt10", patients, "linked", "linked"},
		{"Excluded_NeverMatches", "", "_id=mine,theirs,me,dr", excluded, "dr,me,theirs,mine", "dr,me"},
		{"Excluded_ChainNeverReads", "Patient", "_has:Observation:subject:code=8867-4", excluded, "me", ""},
		{"Constraint_MatchesLeftOut", "Observation", "_sort=code", heartRate, "theirs,mine,linked", "mine,linked"},
		{"Constraint_OtherMatchesLeftOut", "Observation", "_sort=code", glucose, "theirs,mine,linked", "theirs"},
		{"Constraint_Alternatives_EitherMatches", "Observation", "_sort=code", either, "theirs,mine,linked", "theirs,mine,linked"},
		{"Constraint_NoAlternative_MatchesNothing", "Observation", "_sort=code", none, "theirs,mine,linked", ""},
		{"Constraint_AllFiltersOfAnAlternative", "Observation", "_sort=code", final, "theirs,mine,linked", "mine,linked"},
		{"Constraint_AllFiltersOfAnAlternative_OneFails", "Observation", "_sort=code", amended, "theirs,mine,linked", ""},
		{"Constraint_Unsorted", "Observation", "status=final", heartRate, "theirs,mine,linked", "mine,linked"},
		{"Constraint_OtherTypesFree", "Patient", "_sort=_id", heartRate, "me,other", "me,other"},
		{"Constraint_ChainReadsOnlyWhatItAllows", "Observation", "_id=linked&has-member:Observation.code=2345-7", heartRate, "linked", ""},
		{"Constraint_HasReadsOnlyWhatItAllows", "Patient", "_has:Observation:subject:code=2345-7", heartRate, "other", ""},
		{"Constraint_HasOfAllowed_StillMatches", "Patient", "_has:Observation:subject:code=8867-4", heartRate, "me", "me"},
		{"Constraint_System", "", "_id=mine,theirs,dr", heartRate, "dr,theirs,mine", "dr,mine"},
		{"Constraint_AndCompartment_BothHold", "Observation", "_sort=code", myGlucose, "theirs,mine,linked", ""},
		{"Constraint_AndCompartment_Kept", "Observation", "_sort=code", myHeartRate, "theirs,mine,linked", "mine,linked"},
		{"Constraint_AndCompartment_ChainToOtherPatient", "Observation", "_id=mine&focus:Patient.birthdate=ge2001", myHeartRate, "mine", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, confined := range []bool{false, true} {
				want := tt.open
				if confined {
					want = tt.confined
				}
				p := searchConfined(t, s, tt.typ, tt.query+"&_total=accurate", tt.confine, confined)
				got := ids(p.Matches)
				if strings.Join(got, ",") != want {
					t.Errorf("%s?%s (confined %v) = [%s], want [%s]", tt.typ, tt.query, confined, strings.Join(got, ","), want)
				}
				if p.Total != len(got) {
					t.Errorf("%s?%s (confined %v): total %d for %d matches", tt.typ, tt.query, confined, p.Total, len(got))
				}
			}
		})
	}
}

func testSearchConfinementOfIncludes(t *testing.T, s fhirstore.Store, c *Clock) {
	every, patients := seedConfinement(t, s)
	// A searcher who may not read Observations at all, and sees only its
	// own Patient.
	noObservations := &search.Confinement{Compartment: every.Compartment, Types: []string{"Patient"}, Excluded: []string{"Observation"}}
	heartRate := constrained(t, search.Compartment{}, "code=8867-4")
	tests := []struct {
		name, typ, query string
		confine          *search.Confinement
		// open and confined are the included resources, unconfined and
		// confined; the matches are the same either way.
		open, confined string
	}{
		{"Include_OtherPatientLeftOut", "Observation", "_id=mine&_include=Observation:focus", every, "other", ""},
		{"Include_OwnPatientKept", "Observation", "_id=mine&_include=Observation:subject", every, "me", "me"},
		{"Include_PractitionerLeftOut", "Observation", "_id=mine&_include=Observation:performer", every, "dr", ""},
		{"Include_Star_OnlyTheCompartment", "Observation", "_id=mine&_include=*", every, "me,other,enc-other,dr", "me"},
		{"Include_Iterate_StaysInside", "Observation", "_id=linked&_include=Observation:has-member&_include:iterate=Observation:subject", every, "me,theirs,other", "me"},
		{"RevInclude_OtherPatientsDataLeftOut", "Patient", "_id=me&_revinclude=Observation:focus", every, "theirs", ""},
		{"RevInclude_OwnDataKept", "Patient", "_id=me&_revinclude=Observation:subject", every, "mine,linked", "mine,linked"},
		{"TypesOnly_FreeTypeIncluded", "Observation", "_id=mine&_include=Observation:performer", patients, "dr", "dr"},
		{"TypesOnly_ConfinedTypeLeftOut", "Observation", "_id=mine&_include=Observation:focus", patients, "other", ""},
		{"Excluded_TypeNeverIncluded", "Patient", "_id=me&_revinclude=Observation:focus&_revinclude=Observation:subject", noObservations, "theirs,mine,linked", ""},
		{"Excluded_OtherTypesStillIncluded", "Patient", "_id=me&_include=Patient:general-practitioner", noObservations, "dr", "dr"},
		{"Constraint_RevIncludeLeftOut", "Patient", "_id=other&_revinclude=Observation:subject", heartRate, "theirs", ""},
		{"Constraint_RevIncludeKept", "Patient", "_id=me&_revinclude=Observation:subject", heartRate, "mine,linked", "mine,linked"},
		{"Constraint_IncludeLeftOut", "Observation", "_id=linked&_include=Observation:has-member", heartRate, "theirs", ""},
		{"Constraint_OtherTypesIncluded", "Observation", "_id=mine&_include=Observation:performer", heartRate, "dr", "dr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, confined := range []bool{false, true} {
				want := tt.open
				if confined {
					want = tt.confined
				}
				got := ids(searchConfined(t, s, tt.typ, tt.query, tt.confine, confined).Included)
				slices.Sort(got)
				var w []string
				if want != "" {
					w = strings.Split(want, ",")
				}
				slices.Sort(w)
				if strings.Join(got, ",") != strings.Join(w, ",") {
					t.Errorf("%s?%s (confined %v) included [%s], want [%s]", tt.typ, tt.query, confined, strings.Join(got, ","), strings.Join(w, ","))
				}
			}
		})
	}
}

// A reference by absolute URL puts a resource in the confinement's
// compartment only under the server's base, when the confinement names
// it: another server's Patient/me is not this one's.
func testSearchConfinementOfAbsoluteReferences(t *testing.T, s fhirstore.Store, c *Clock) {
	for _, b := range []string{
		`{"resourceType":"Patient","id":"me"}`,
		`{"resourceType":"Observation","id":"relative","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/me"}}`,
		`{"resourceType":"Observation","id":"here","status":"final","code":{"text":"x"},"subject":{"reference":"https://sandbox.test/fhir/Patient/me"}}`,
		`{"resourceType":"Observation","id":"there","status":"final","code":{"text":"x"},"subject":{"reference":"https://elsewhere.test/fhir/Patient/me"}}`,
	} {
		r, err := fhirjson.Parse([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(context.Background(), sb, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	me := search.Compartment{Type: "Patient", ID: "me"}
	anyURL := &search.Confinement{Compartment: me, Types: []string{"Observation"}}
	underBase := &search.Confinement{Compartment: me, Types: []string{"Observation"}, Base: "https://sandbox.test/fhir"}
	tests := []struct {
		name, query string
		compartment bool
		confine     *search.Confinement
		want        string
	}{
		{"NoBase_AnyURLCounts", "_sort=_id", false, anyURL, "here,relative,there"},
		{"Base_OnlyThisServersCount", "_sort=_id", false, underBase, "here,relative"},
		{"Base_InACompartmentSearchToo", "_sort=_id", true, underBase, "here,relative"},
		{"Base_Unsorted", "status=final", false, underBase, "relative,here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := parseSearch(t, "Observation", tt.query+"&_total=accurate")
			if tt.compartment {
				q.Compartment = &me
			}
			p, err := s.Search(search.ConfineTo(context.Background(), tt.confine), sb, fhirstore.SearchQuery{Query: q})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids(p.Matches), ","); got != tt.want || p.Total != len(p.Matches) {
				t.Errorf("Observation?%s = [%s] (total %d), want [%s]", tt.query, got, p.Total, tt.want)
			}
		})
	}
}
