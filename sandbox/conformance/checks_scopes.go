package conformance

import (
	"slices"
	"strings"
)

// scopeUse is what a granted clinical scope let the client do and
// whether it did.
type scopeUse struct {
	name      string
	typ       string // resource type, "*" for all
	read      bool   // r or s (v2), or read (v1)
	write     bool   // c, u or d (v2), or write (v1)
	usedTypes map[string]bool
}

// parseClinical reads a SMART v1 or v2 clinical scope
// (patient/Observation.rs, user/*.read); ok is false for any other scope.
func parseClinical(s string) (scopeUse, bool) {
	level, rest, ok := strings.Cut(s, "/")
	if !ok || (level != "patient" && level != "user" && level != "system") {
		return scopeUse{}, false
	}
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok || typ == "" {
		return scopeUse{}, false
	}
	perms, _, _ = strings.Cut(perms, "?")
	u := scopeUse{name: s, typ: typ, usedTypes: map[string]bool{}}
	switch perms {
	case "read":
		u.read = true
	case "write":
		u.write = true
	case "*":
		u.read, u.write = true, true
	default:
		u.read = strings.ContainsAny(perms, "rs")
		u.write = strings.ContainsAny(perms, "cud")
	}
	return u, true
}

// leastPrivilege compares the clinical scopes the client was granted
// with what it did: a scope for a type it never touched, a write scope it
// never wrote with, or a wildcard where it used a few types, asks for
// more than the app needs.
func leastPrivilege() Check {
	return Check{ID: "smart.least-privilege", Title: "Asks for no more scopes than it uses", Cite: citeScopes,
		Severity: SeverityWarning,
		Evaluate: func(ev *Evidence) Result {
			views := ev.views()
			scopes := map[string]*scopeUse{}
			var grants refs
			used := 0
			for i := range ev.Entries {
				e, v := &ev.Entries[i], &views[i]
				if !v.own {
					continue
				}
				if e.OAuth != nil && e.OAuth.Endpoint == "token" && e.OAuth.Error == "" && e.Scopes != "" {
					grants.add(e)
					for s := range strings.FieldsSeq(e.Scopes) {
						if u, ok := parseClinical(s); ok && scopes[s] == nil {
							scopes[s] = &u
						}
					}
					continue
				}
				if !v.fhir || v.typ == "" || e.Status >= 400 {
					continue
				}
				used++
				write := e.Method != "GET" && e.Method != "HEAD" && !strings.HasSuffix(v.rest, "/_search")
				for _, u := range scopes {
					if (u.typ == "*" || u.typ == v.typ) && (write && u.write || !write && u.read) {
						u.usedTypes[v.typ] = true
					}
				}
			}
			if grants.n == 0 || len(scopes) == 0 {
				return skip("the client was granted no clinical scope in the window")
			}
			var wide []string
			for _, u := range scopes {
				switch {
				case len(u.usedTypes) == 0:
					wide = append(wide, u.name+" (never used)")
				case u.typ == "*" && len(u.usedTypes) <= 3:
					types := make([]string, 0, len(u.usedTypes))
					for t := range u.usedTypes {
						types = append(types, t)
					}
					slices.Sort(types)
					wide = append(wide, u.name+" (used for "+strings.Join(types, ", ")+" only)")
				}
			}
			slices.Sort(wide)
			if len(wide) > 0 {
				return fail(grants, "%d granted scopes are wider than what the client did: %s", len(wide), strings.Join(wide, "; "))
			}
			return pass(grants, "every granted clinical scope was used (%d successful FHIR requests)", used)
		}}
}
