package smart

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParseScopes_InvalidScopesAreRefusedAsInvalidScope(t *testing.T) {
	for _, raw := range []string{
		"foo",
		"patient",
		"patient/",
		"patient/Observation",
		"patient/Observation.",
		"patient/observation.read",      // resource types start upper-case
		"practitioner/Observation.read", // unknown level
		"patient/Observation.readwrite",
		"patient/Observation.sr",                       // v2 letters out of order
		"patient/Observation.rrs",                      // duplicate letter
		"patient/Observation.crudsx",                   // unknown letter
		"patient/Observation.read?category=laboratory", // constraints need v2
		"patient/Observation.rs?",                      // empty constraint
		"patient/Observation.rs?=x",
		"patient/Observation.rs?category=",
		"patient/Observation.rs?category=%zz",
		"Patient/*.read",
		"launch/Patient",
		"openid profile bogus",
	} {
		_, err := ParseScopes(raw)
		if !errors.Is(err, ErrInvalidScope) {
			t.Errorf("ParseScopes(%q) error = %v, want invalid_scope", raw, err)
		}
	}
}

func TestParseScopes_NamedScopesAreRecognised(t *testing.T) {
	raw := "launch launch/patient launch/encounter openid fhirUser profile offline_access online_access"
	s, err := ParseScopes(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Fields(raw) {
		if !s.Has(name) {
			t.Errorf("Has(%q) = false", name)
		}
	}
	if s.Has("patient/*.read") || s.String() != raw {
		t.Errorf("String() = %q", s.String())
	}
}

func TestScopes_Allows_V1ReadIsV2RS_WriteIsCUD_StarIsCRUDS(t *testing.T) {
	tests := []struct {
		scope string
		want  string // interactions allowed on Observation at the scope's level
	}{
		{"patient/Observation.read", "rs"},
		{"patient/Observation.rs", "rs"},
		{"patient/Observation.write", "cud"},
		{"patient/Observation.cud", "cud"},
		{"patient/Observation.*", "cruds"},
		{"patient/Observation.cruds", "cruds"},
		{"patient/Observation.r", "r"},
		{"patient/Observation.s", "s"},
		{"patient/Observation.c", "c"},
		{"patient/Observation.u", "u"},
		{"patient/Observation.d", "d"},
		{"patient/Observation.rd", "rd"},
		{"patient/*.read", "rs"},
		{"patient/*.*", "cruds"},
		{"patient/*.cruds", "cruds"},
	}
	for _, tt := range tests {
		s, err := ParseScopes(tt.scope)
		if err != nil {
			t.Fatalf("%s: %v", tt.scope, err)
		}
		for _, in := range interactionOrder {
			want := strings.ContainsRune(tt.want, in)
			if got := s.Allows(LevelPatient, "Observation", Interaction(in)); got != want {
				t.Errorf("%s allows %c = %v, want %v", tt.scope, in, got, want)
			}
		}
	}
}

func TestScopes_Allows_LevelsAndResourceTypesMustMatch(t *testing.T) {
	s, err := ParseScopes("patient/Observation.rs user/Condition.cruds system/*.write launch openid")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		level Level
		rt    string
		in    Interaction
		want  bool
	}{
		{LevelPatient, "Observation", Read, true},
		{LevelPatient, "Observation", Search, true},
		{LevelPatient, "Observation", Create, false},
		{LevelUser, "Observation", Read, false}, // patient scope does not grant user level
		{LevelSystem, "Observation", Read, false},
		{LevelPatient, "Condition", Read, false},
		{LevelUser, "Condition", Delete, true},
		{LevelPatient, "Condition", Read, false},
		{LevelSystem, "Patient", Create, true},
		{LevelSystem, "Anything", Update, true},
		{LevelSystem, "Patient", Read, false},
		{LevelUser, "Patient", Read, false},
	}
	for _, tt := range tests {
		if got := s.Allows(tt.level, tt.rt, tt.in); got != tt.want {
			t.Errorf("Allows(%s, %s, %c) = %v, want %v", tt.level, tt.rt, tt.in, got, tt.want)
		}
	}
}

func TestScopes_Access_ConstrainedScopesReturnTheirQueries_UnconstrainedWins(t *testing.T) {
	const lab = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
	const vital = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"
	s, err := ParseScopes(lab + " " + vital)
	if err != nil {
		t.Fatal(err)
	}
	a := s.Access(LevelPatient, "Observation", Search)
	if !a.Allowed || len(a.Constraints) != 2 {
		t.Fatalf("Access = %+v, want allowed with two constraints", a)
	}
	if got := a.Constraints[0].Get("category"); got != "http://terminology.hl7.org/CodeSystem/observation-category|laboratory" {
		t.Errorf("first constraint category = %q", got)
	}
	if a := s.Access(LevelPatient, "Observation", Create); a.Allowed {
		t.Errorf("create allowed by rs scopes: %+v", a)
	}
	s2, _ := ParseScopes(lab + " patient/Observation.read")
	if a := s2.Access(LevelPatient, "Observation", Read); !a.Allowed || a.Constraints != nil {
		t.Errorf("with an unconstrained v1 scope too, Access = %+v, want unconstrained", a)
	}
}

func TestScopes_V1AndV2Mix_GrantTheUnion(t *testing.T) {
	s, err := ParseScopes("patient/Observation.read patient/Observation.c user/*.rs")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []Interaction{Read, Search, Create} {
		if !s.Allows(LevelPatient, "Observation", in) {
			t.Errorf("patient Observation %c refused", in)
		}
	}
	if s.Allows(LevelPatient, "Observation", Update) || !s.Allows(LevelUser, "Encounter", Search) {
		t.Error("union wrong")
	}
}

func TestScopes_Uncovered_RequestMustBeSubsetOfAllowed(t *testing.T) {
	const labQ = "?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
	tests := []struct {
		allowed, requested string
		ok                 bool
	}{
		{"patient/*.read", "patient/Observation.rs", true},
		{"patient/*.read", "patient/Observation.read", true},
		{"patient/*.read", "patient/Observation.r", true},
		{"patient/*.read", "patient/Observation.write", false},
		{"patient/*.read", "user/Observation.read", false},
		{"patient/Observation.rs", "patient/*.rs", false},
		{"patient/*.*", "patient/Condition.cruds", true},
		{"patient/*.cruds", "patient/Condition.write", true},
		{"patient/Observation.rs", "patient/Observation.rs" + labQ, true},
		{"patient/Observation.rs" + labQ, "patient/Observation.rs", false},
		{"patient/Observation.rs" + labQ, "patient/Observation.rs" + labQ, true},
		{"launch openid", "openid", true},
		{"launch openid", "offline_access", false},
		{"system/*.rs", "system/Patient.read", true},
		{"", "", true},
	}
	for _, tt := range tests {
		a, err1 := ParseScopes(tt.allowed)
		r, err2 := ParseScopes(tt.requested)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		_, uncovered := a.Uncovered(r)
		if uncovered == tt.ok {
			t.Errorf("allowed %q, requested %q: covered = %v, want %v", tt.allowed, tt.requested, !uncovered, tt.ok)
		}
	}
}

func FuzzParseScopes(f *testing.F) {
	for _, seed := range []string{
		"patient/Observation.read", "user/*.*", "system/*.write launch openid",
		"patient/Observation.rs?category=http://x|lab", "user/Condition.cruds", "a/b.c?d", "patient/*.rs?%",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := ParseScopes(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidScope) {
				t.Fatalf("error %v is not invalid_scope", err)
			}
			return
		}
		// A parsed scope string reparses to the same decisions.
		again, err := ParseScopes(s.String())
		if err != nil {
			t.Fatalf("reparse of %q: %v", s.String(), err)
		}
		if _, bad := again.Uncovered(s); bad {
			t.Fatalf("%q does not cover itself", s.String())
		}
		for _, sc := range s {
			if sc.Level != "" && (sc.Version < 1 || sc.Version > 2) {
				t.Fatalf("resource scope %q without version", sc.Name)
			}
			if sc.Query != nil {
				_, _ = url.ParseQuery(sc.Query.Encode())
			}
		}
	})
}
