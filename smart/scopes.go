package smart

import (
	"net/url"
	"regexp"
	"strings"
)

// Level is the context a resource scope applies to: the patient in
// context, what the user may see, or a backend system.
type Level string

// The SMART scope levels.
const (
	LevelPatient Level = "patient"
	LevelUser    Level = "user"
	LevelSystem  Level = "system"
)

// Interaction is one SMART v2 permission letter.
type Interaction byte

// The SMART v2 interactions, in the order scopes must list them.
const (
	Create Interaction = 'c'
	Read   Interaction = 'r'
	Update Interaction = 'u'
	Delete Interaction = 'd'
	Search Interaction = 's'
)

// interactionOrder is the order letters must appear in a v2 scope.
const interactionOrder = "cruds"

// interactions is a set of Interaction, one bit per letter of "cruds".
type interactions uint8

func (set interactions) has(in Interaction) bool {
	i := strings.IndexByte(interactionOrder, byte(in))
	return i >= 0 && set&(1<<i) != 0
}

func setOf(letters string) interactions {
	var set interactions
	for i := range len(letters) {
		set |= 1 << strings.IndexByte(interactionOrder, letters[i])
	}
	return set
}

// namedScopes are the non-resource scopes the server understands.
var namedScopes = map[string]bool{
	"launch": true, "launch/patient": true, "launch/encounter": true,
	"openid": true, "fhirUser": true, "profile": true,
	"offline_access": true, "online_access": true,
}

// Scope is one parsed scope: either a named scope (Level empty, e.g.
// "launch/patient") or a resource scope in SMART v1 or v2 syntax.
type Scope struct {
	// Name is the scope as written.
	Name string
	// Level is the resource scope's level; empty for a named scope.
	Level Level
	// ResourceType is a FHIR resource type or "*" for all.
	ResourceType string
	// Version is 1 or 2 for a resource scope (the syntax it was written
	// in), 0 for a named scope.
	Version int
	// Query holds a v2 scope's constraints (after "?"); nil when none.
	Query url.Values
	set   interactions
}

// Permits reports whether a resource scope grants the interaction.
func (s Scope) Permits(in Interaction) bool { return s.Level != "" && s.set.has(in) }

// Scopes is a parsed scope string.
type Scopes []Scope

var resourceTypePattern = regexp.MustCompile(`^(\*|[A-Z][A-Za-z]{0,63})$`)

// ParseScopes parses a space-separated scope string in SMART v1 and/or v2
// syntax. Unknown scopes, malformed permissions and constraints on v1
// scopes are refused with ErrInvalidScope.
func ParseScopes(raw string) (Scopes, error) {
	var out Scopes
	for _, name := range strings.Fields(raw) {
		sc, err := parseScope(name)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

func parseScope(name string) (Scope, error) {
	if namedScopes[name] {
		return Scope{Name: name}, nil
	}
	bad := func(why string) (Scope, error) {
		return Scope{}, ErrInvalidScope.describe("scope %q: %s", truncate(name, 80), why)
	}
	levelStr, rest, ok := strings.Cut(name, "/")
	level := Level(levelStr)
	if !ok || (level != LevelPatient && level != LevelUser && level != LevelSystem) {
		return bad("unknown scope")
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	rt, perm, ok := strings.Cut(rest, ".")
	if !ok || !resourceTypePattern.MatchString(rt) {
		return bad("expected <level>/<ResourceType|*>.<permissions>")
	}
	sc := Scope{Name: name, Level: level, ResourceType: rt}
	switch perm {
	case "read":
		sc.Version, sc.set = 1, setOf("rs")
	case "write":
		sc.Version, sc.set = 1, setOf("cud")
	case "*":
		sc.Version, sc.set = 1, setOf("cruds")
	default:
		if !isV2Permissions(perm) {
			return bad(`permissions must be "read", "write", "*" (v1) or letters of "cruds" in that order (v2)`)
		}
		sc.Version, sc.set = 2, setOf(perm)
	}
	if hasQuery {
		if sc.Version == 1 {
			return bad("constraints (?…) need SMART v2 permissions")
		}
		q, err := url.ParseQuery(query)
		if err != nil || len(q) == 0 {
			return bad("malformed constraint query")
		}
		for k, vs := range q {
			if k == "" || len(vs) == 0 || vs[0] == "" {
				return bad("empty constraint parameter")
			}
		}
		sc.Query = q
	}
	return sc, nil
}

// isV2Permissions reports whether perm is a non-empty, duplicate-free
// subsequence of "cruds".
func isV2Permissions(perm string) bool {
	if perm == "" {
		return false
	}
	at := 0
	for i := range len(perm) {
		j := strings.IndexByte(interactionOrder[at:], perm[i])
		if j < 0 {
			return false
		}
		at += j + 1
	}
	return true
}

// String joins the scopes' names with spaces.
func (s Scopes) String() string {
	names := make([]string, len(s))
	for i, sc := range s {
		names[i] = sc.Name
	}
	return strings.Join(names, " ")
}

// Has reports whether a named scope (e.g. "openid") is present.
func (s Scopes) Has(name string) bool {
	for _, sc := range s {
		if sc.Level == "" && sc.Name == name {
			return true
		}
	}
	return false
}

// HasLevel reports whether any resource scope is at level.
func (s Scopes) HasLevel(level Level) bool {
	for _, sc := range s {
		if sc.Level == level {
			return true
		}
	}
	return false
}

// Allows reports whether some scope at level grants interaction on
// resourceType. It ignores constraints; use Access to get them.
func (s Scopes) Allows(level Level, resourceType string, in Interaction) bool {
	return s.Access(level, resourceType, in).Allowed
}

// Access is the decision for one level, resource type and interaction.
type Access struct {
	// Allowed is true when some scope grants the interaction.
	Allowed bool
	// Constraints, when non-empty, limit the access to resources matching
	// at least one of these FHIR search queries (SMART v2 "?…" scopes);
	// empty means unconstrained.
	Constraints []url.Values
}

// Access decides one level, resource type and interaction: allowed, and
// under which constraints. An unconstrained matching scope wins over
// constrained ones.
func (s Scopes) Access(level Level, resourceType string, in Interaction) Access {
	var a Access
	for _, sc := range s {
		if sc.Level != level || !sc.Permits(in) || (sc.ResourceType != "*" && sc.ResourceType != resourceType) {
			continue
		}
		if sc.Query == nil {
			return Access{Allowed: true}
		}
		a.Allowed = true
		a.Constraints = append(a.Constraints, sc.Query)
	}
	return a
}

// Uncovered returns the first requested scope that s does not cover,
// and false when all are covered. A resource scope is covered by one at the
// same level, for the same type or "*", with at least its permissions and
// either no constraint or the same constraint.
func (s Scopes) Uncovered(requested Scopes) (Scope, bool) {
	for _, r := range requested {
		if !s.covers(r) {
			return r, true
		}
	}
	return Scope{}, false
}

func (s Scopes) covers(r Scope) bool {
	for _, a := range s {
		if r.Level == "" {
			if a.Level == "" && a.Name == r.Name {
				return true
			}
			continue
		}
		if a.Level != r.Level || (a.ResourceType != "*" && a.ResourceType != r.ResourceType) {
			continue
		}
		if a.set&r.set != r.set {
			continue
		}
		if a.Query == nil || (r.Query != nil && a.Query.Encode() == r.Query.Encode()) {
			return true
		}
	}
	return false
}

// truncate shortens s for error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
