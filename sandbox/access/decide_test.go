package access

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/smart"
)

const vitalSigns = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"

// token is a grant of scopes for the sandbox sb, with pat-a in context.
func token(t testing.TB, sb, scopes string) *smart.Grant {
	t.Helper()
	sc, err := smart.ParseScopes(scopes)
	if err != nil {
		t.Fatal(err)
	}
	return &smart.Grant{ClientID: "app", Sandbox: sb, Patient: "pat-a", Scopes: sc}
}

// request routes and parses a request as the guard does: the search of a
// search, the criteria of a conditional interaction (query, or for a
// create the If-None-Exist header's value).
func request(t testing.TB, method, target string) *Request {
	t.Helper()
	path, query, _ := strings.Cut(target, "?")
	route, err := interaction.Route(method, path)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	r := &Request{Route: route}
	if query != "" || route.Kind.IsSearch() {
		v, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		q, err := search.Parse(route.Type, v, search.Options{Base: "http://sandbox.test/fhir"})
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		r.Search = q
		r.Conditional = !route.Kind.IsSearch()
	}
	return r
}

// entry is request as a Bundle entry, with its resource's conditional
// references.
func entry(t *testing.T, method, target string, refs ...string) *Request {
	r := request(t, method, target)
	r.Entry = true
	for _, ref := range refs {
		typ, q, _ := strings.Cut(ref, "?")
		v, _ := url.ParseQuery(q)
		crit, err := search.Parse(typ, v, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		r.References = append(r.References, Reference{Ref: ref, Type: typ, Criteria: crit})
	}
	return r
}

// narrowedTo states what a narrowed decision's confinement must say: the
// patient of its compartment, the types confined to it, the types
// excluded, and the constrained types with their number of alternatives.
type narrowedTo struct {
	patient     string
	types       string
	excluded    string
	constraints map[string]int
}

func TestDecide_TheLeakPathsOfTheHardeningIssue(t *testing.T) {
	const (
		patientAll = "launch/patient patient/*.rs"
		writer     = "launch/patient patient/*.cruds"
	)
	labOrVitals := "launch/patient patient/Observation.rs?category=" + url.QueryEscape(vitalSigns) + " patient/Observation.rs?category=laboratory"
	tests := []struct {
		name, scopes string
		req          *Request
		// want is the effect; for a refusal, why says what the reason
		// must contain; for a narrowed one, to what.
		want   Effect
		why    string
		to     *narrowedTo
		checks Check
	}{
		// Chain and _has oracles: what a filter reads is confined, or
		// refused when the token may not search it at all.
		{"chain to another patient is confined", patientAll, request(t, "GET", "Observation?_id=mine&focus:Patient.birthdate=ge2001"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation,Patient"}, 0},
		{"two-level chain is confined at every level", patientAll, request(t, "GET", "Observation?encounter.subject:Patient.birthdate=ge2001"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation,Encounter,Patient"}, 0},
		{"_has from another patient's data is confined", patientAll, request(t, "GET", "Patient?_has:Observation:focus:value-quantity=gt10"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Patient,Observation"}, 0},
		{"chain into a type without search is refused", "launch/patient patient/Patient.rs", request(t, "GET", "Patient?general-practitioner:Practitioner.family=lege"),
			Refuse, "Practitioner, which general-practitioner:Practitioner.family reads", nil, 0},
		{"_has into a type without search is refused", "launch/patient patient/Patient.rs", request(t, "GET", "Patient?_has:Observation:subject:code=4548-4"),
			Refuse, "search on Observation", nil, 0},
		{"_has into a constrained type reads only what the constraint allows", "launch/patient patient/Patient.rs patient/Observation.rs?category=" + url.QueryEscape(vitalSigns),
			request(t, "GET", "Patient?_has:Observation:subject:code=4548-4"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Patient,Observation", constraints: map[string]int{"Observation": 1}}, 0},
		{"user scope, _has into an unscoped type is refused", "user/Patient.rs", request(t, "GET", "Patient?_has:Observation:subject:code=4548-4"),
			Refuse, "search on Observation", nil, 0},
		{"user scope, chain within the scoped type is free", "user/Patient.rs", request(t, "GET", "Patient?link:Patient.family=hansen"),
			Allow, "", nil, 0},
		// Includes and revincludes of types the token may not read add
		// nothing; those it reads at patient level stay in the compartment.
		{"revinclude of an unreadable type is excluded", "user/Patient.rs", request(t, "GET", "Patient?_revinclude=Observation:subject"),
			AllowNarrowed, "", &narrowedTo{excluded: "Observation"}, 0},
		{"include of another patient is confined", patientAll, request(t, "GET", "Observation?_include=Observation:focus:Patient"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation,Patient"}, 0},
		// Counts, _total and sort windows run inside the confinement: the
		// decision narrows them like any search.
		{"count under two constraints is narrowed", labOrVitals, request(t, "GET", "Observation?_summary=count"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation", constraints: map[string]int{"Observation": 2}}, 0},
		{"_total is narrowed", patientAll, request(t, "GET", "Observation?code=8867-4&_total=accurate"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation"}, 0},
		{"sorted search is narrowed", patientAll, request(t, "GET", "Observation?_sort=-date&_count=1"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation"}, 0},
		{"system search sees only what the token may search", "launch/patient patient/Observation.rs", request(t, "GET", "?_type=Observation,Condition"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation", excluded: "Condition"}, 0},
		{"constraint that cannot be applied matches nothing", "launch/patient patient/Observation.rs?date=2024", request(t, "GET", "Observation"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation", constraints: map[string]int{"Observation": 0}}, 0},
		{"compartment search of another patient is refused", patientAll, request(t, "GET", "Patient/pat-b/Observation"),
			Refuse, "Patient/pat-b is not the patient in context", nil, 0},
		{"compartment search of the patient in context", patientAll, request(t, "GET", "Patient/pat-a/Observation"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation"}, 0},
		// Conditional create, update and delete: their criteria would be
		// resolved over the whole sandbox.
		{"conditional create at patient level is refused", writer, request(t, "POST", "Observation?code=8867-4"),
			Refuse, "conditional create is not available", nil, 0},
		{"conditional update at patient level is refused", writer, request(t, "PUT", "Observation?code=8867-4"),
			Refuse, "conditional update is not available", nil, 0},
		{"conditional delete at patient level is refused", writer, request(t, "DELETE", "Observation?code=8867-4"),
			Refuse, "conditional delete is not available", nil, 0},
		{"conditional update whose criteria chain into an unscoped type", "user/Observation.cruds", request(t, "PUT", "Observation?subject:Patient.family=hansen"),
			Refuse, "search on Patient", nil, 0},
		{"conditional delete at user level", "user/Observation.cruds", request(t, "DELETE", "Observation?code=8867-4"),
			Allow, "", nil, 0},
		// Writes by id run inside the confinement, with the stored and the
		// new resource checked.
		{"create at patient level", writer, request(t, "POST", "Observation"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation"}, 0},
		{"update at patient level", writer, request(t, "PUT", "Observation/obs-b"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation"}, CheckVisible},
		{"delete at patient level", writer, request(t, "DELETE", "Observation/obs-b"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation"}, CheckVisible},
		{"patch at patient level is refused", writer, request(t, "PATCH", "Observation/obs-a"),
			Refuse, "PATCH is not available", nil, 0},
		{"write with a read-only scope is refused", patientAll, request(t, "POST", "Observation"),
			Refuse, "do not permit create on Observation", nil, 0},
		// Reads by id: judged by the store as the API reads, inside the
		// confinement (fhirstore.ErrNotVisible), with nothing left to check.
		{"read at patient level", patientAll, request(t, "GET", "Observation/obs-b"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation"}, 0},
		{"read under a constraint", "launch/patient patient/Observation.rs?category=" + url.QueryEscape(vitalSigns), request(t, "GET", "Observation/obs-a"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation", constraints: map[string]int{"Observation": 1}}, 0},
		{"read of a type outside the constrained scope", "launch/patient patient/Observation.rs?category=laboratory", request(t, "GET", "Patient/pat-a"),
			Refuse, "do not permit read on Patient", nil, 0},
		{"vread at patient level checks the version", patientAll, request(t, "GET", "Observation/obs-b/_history/1"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation"}, CheckVersion},
		{"history at patient level checks the versions", patientAll, request(t, "GET", "Observation/_history"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation"}, CheckHistory},
		{"read at user level", "user/Observation.rs", request(t, "GET", "Observation/obs-b"), Allow, "", nil, 0},
		// $everything: the token's own patient only, confined to its
		// compartment.
		{"$everything of another patient is refused", patientAll, request(t, "GET", "Patient/pat-b/$everything"),
			Refuse, "its own patient only", nil, 0},
		{"$everything of the patient in context", patientAll, request(t, "GET", "Patient/pat-a/$everything"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "*"}, CheckEverything},
		{"$everything under constraints is refused", "launch/patient patient/*.rs?category=laboratory", request(t, "GET", "Patient/pat-a/$everything"),
			Refuse, "without constraints", nil, 0},
		{"$everything at user level", "user/*.rs", request(t, "GET", "Patient/pat-b/$everything"), Allow, "", nil, 0},
		{"other operations at patient level are refused", writer, request(t, "GET", "Patient/pat-a/$meta"),
			Refuse, "$meta is not available", nil, 0},
		{"bulk export needs every type unconfined", "user/Observation.rs", request(t, "GET", "$export"),
			Refuse, "read on *", nil, 0},
		// Mixed grants: Observations at user level, Patients in the
		// compartment; a chain into Patients sees the patient in context
		// only, and Observations are searched freely.
		{"mixed levels, chain into the confined type", "launch/patient user/Observation.rs patient/Patient.rs", request(t, "GET", "Observation?subject:Patient.family=hansen"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Patient"}, 0},
		{"mixed levels, the unconfined type is free", "launch/patient user/Observation.rs patient/Patient.rs", request(t, "GET", "Observation?code=8867-4"),
			Allow, "", nil, 0},
		// Bundles: each entry as its own request, before anything runs.
		{"bundle is judged by its entries", writer, request(t, "POST", ""), Allow, "", nil, CheckEntries},
		{"conditional reference at patient level is refused", writer, entry(t, "POST", "Observation", "Patient?family=annen&birthdate=ge1980"),
			Refuse, "conditional references (Patient?family=annen&birthdate=ge1980) are not available", nil, 0},
		{"conditional reference to a type without search is refused", "user/Observation.cruds", entry(t, "POST", "Observation", "Patient?family=annen"),
			Refuse, "needs search on Patient", nil, 0},
		{"conditional reference whose criteria chain into an unscoped type", "user/Observation.cruds user/Patient.rs",
			entry(t, "POST", "Observation", "Patient?general-practitioner:Practitioner.family=lege"),
			Refuse, "search on Practitioner", nil, 0},
		{"conditional reference at user level", "user/Observation.cruds user/Patient.rs", entry(t, "POST", "Observation", "Patient?family=annen"),
			Allow, "", nil, 0},
		{"search entry at patient level is refused", patientAll, entry(t, "GET", "Observation?code=8867-4"),
			Refuse, "searches in a bundle are not available", nil, 0},
		{"conditional entry at patient level is refused", writer, entry(t, "PUT", "Observation?code=8867-4"),
			Refuse, "conditional interactions in a bundle are not available", nil, 0},
		{"read entry at patient level is checked", patientAll, entry(t, "GET", "Observation/obs-b"),
			AllowNarrowed, "", &narrowedTo{patient: "pat-a", types: "Observation"}, CheckVisible},
		{"patch entry is refused", "user/*.cruds", entry(t, "PATCH", "Observation/obs-a"),
			Refuse, "not an interaction this server's access control covers in a bundle", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(token(t, "", tt.scopes), tt.req)
			if d.Effect != tt.want {
				t.Fatalf("effect %v, want %v (err %v)", d.Effect, tt.want, d.Err)
			}
			if tt.want == Refuse {
				var oe *outcome.Error
				if !errors.As(d.Err, &oe) || oe.Issues[0].Code != outcome.Forbidden {
					t.Fatalf("refused with %v, want a forbidden outcome", d.Err)
				}
				if !strings.Contains(d.Err.Error(), tt.why) {
					t.Errorf("refused with %q, want it to say %q", d.Err, tt.why)
				}
				return
			}
			if d.Checks != tt.checks {
				t.Errorf("checks %b, want %b", d.Checks, tt.checks)
			}
			if tt.to == nil {
				if d.Confinement != nil {
					t.Errorf("confined to %+v, want no confinement", d.Confinement)
				}
				return
			}
			c := d.Confinement
			if c == nil {
				t.Fatal("no confinement")
			}
			if c.Compartment.ID != tt.to.patient || (tt.to.patient != "" && c.Compartment.Type != "Patient") {
				t.Errorf("compartment %+v, want Patient/%s", c.Compartment, tt.to.patient)
			}
			types := strings.Join(c.Types, ",")
			if c.Types == nil {
				types = "*"
			}
			if types != tt.to.types {
				t.Errorf("types [%s], want [%s]", types, tt.to.types)
			}
			if got := strings.Join(c.Excluded, ","); got != tt.to.excluded && !(tt.to.excluded == "Condition" && slices.Contains(c.Excluded, "Condition")) {
				t.Errorf("excluded [%s], want [%s]", got, tt.to.excluded)
			}
			if len(c.Constraints) != len(tt.to.constraints) {
				t.Errorf("constraints %v, want %v", c.Constraints, tt.to.constraints)
			}
			for typ, n := range tt.to.constraints {
				if cs, ok := c.Constraints[typ]; !ok || len(cs) != n {
					t.Errorf("constraints of %s: %v, want %d alternatives", typ, cs, n)
				}
			}
		})
	}
}

func TestDecide_TokenOfAnotherSandbox_IsNotValidHere(t *testing.T) {
	for _, tc := range []struct{ token, request string }{{"other", ""}, {"", "other"}, {"a", "b"}} {
		r := request(t, "GET", "Observation/obs-a")
		r.Sandbox = tc.request
		d := Decide(token(t, tc.token, "system/*.cruds"), r)
		if d.Effect != Refuse || !errors.Is(d.Err, ErrOtherSandbox) {
			t.Errorf("token of %q in sandbox %q: %v %v, want ErrOtherSandbox", tc.token, tc.request, d.Effect, d.Err)
		}
	}
	r := request(t, "GET", "Observation/obs-a")
	r.Sandbox = "default"
	if d := Decide(token(t, "", "system/*.rs"), r); d.Effect != Allow {
		t.Errorf("token without a sandbox in the default sandbox: %v %v", d.Effect, d.Err)
	}
}
