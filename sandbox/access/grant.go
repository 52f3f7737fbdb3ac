package access

import (
	"net/url"
	"slices"
	"strings"

	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
	"hpsandbox/smart"
)

// grant is one request's token, with the permissions asked of it so far
// kept by resource type and interaction.
type grant struct {
	*smart.Grant
	perms map[permKey]permit
}

type permKey struct {
	typ string
	in  smart.Interaction
}

type permit struct {
	p   smart.Permission
	err error
}

// permit asks the grant, once per type and interaction.
func (g *grant) permit(typ string, in smart.Interaction) (smart.Permission, error) {
	k := permKey{typ, in}
	if r, ok := g.perms[k]; ok {
		return r.p, r.err
	}
	p, err := g.Permit(typ, in)
	if id, ok := strings.CutPrefix(g.FHIRUser, "Patient/"); ok && err == nil && p.Level == smart.LevelUser {
		// What a patient signed in as the user may see is their own record.
		p.Level, p.Patient = smart.LevelPatient, id
	}
	if g.perms == nil {
		g.perms = map[permKey]permit{}
	}
	g.perms[k] = permit{p, err}
	return p, err
}

// confined reports whether a permission limits which resources it covers:
// at patient level (the compartment) or with SMART v2 constraints.
func confined(p smart.Permission) bool {
	return p.Level == smart.LevelPatient || len(p.Constraints) > 0
}

// confinement builds the search.Confinement of the types a request reads
// or writes, one permission per type (the first given).
type confinement struct {
	c    search.Confinement
	seen []string
}

// add confines typ as p permits it: to p's patient's compartment at patient
// level, and to p's constraints when it has some.
func (b *confinement) add(typ string, p smart.Permission) {
	if !confined(p) || slices.Contains(b.seen, typ) {
		return
	}
	b.seen = append(b.seen, typ)
	if p.Level == smart.LevelPatient {
		b.c.Compartment = search.Compartment{Type: "Patient", ID: p.Patient}
		b.c.Types = append(b.c.Types, typ)
	}
	if len(p.Constraints) > 0 {
		if b.c.Constraints == nil {
			b.c.Constraints = map[string][]search.Constraint{}
		}
		b.c.Constraints[typ] = constraints(typ, p.Constraints)
	}
}

// exclude makes typ unreadable.
func (b *confinement) exclude(typ string) {
	if !slices.Contains(b.c.Excluded, typ) {
		b.c.Excluded = append(b.c.Excluded, typ)
	}
}

// merge adds what other confines.
func (b *confinement) merge(other *search.Confinement) {
	if other == nil {
		return
	}
	for _, typ := range other.Types {
		if !slices.Contains(b.seen, typ) {
			b.seen = append(b.seen, typ)
			b.c.Compartment = other.Compartment
			b.c.Types = append(b.c.Types, typ)
		}
	}
	for typ, cs := range other.Constraints {
		if _, ok := b.c.Constraints[typ]; !ok {
			if b.c.Constraints == nil {
				b.c.Constraints = map[string][]search.Constraint{}
			}
			b.c.Constraints[typ] = cs
		}
	}
	for _, typ := range other.Excluded {
		b.exclude(typ)
	}
}

// result is the confinement built, or nil when it confines nothing.
func (b *confinement) result() *search.Confinement {
	if len(b.c.Types) == 0 && len(b.c.Excluded) == 0 && len(b.c.Constraints) == 0 {
		return nil
	}
	c := b.c
	if c.Types == nil {
		c.Types = []string{} // only the types named, never every type
	}
	return &c
}

// constraints turns a scope's constraint queries into the alternatives the
// store applies. Only token parameters without modifiers (code,
// system|code, |code, system|) are applied; an alternative with any other
// parameter is left out, so that it matches nothing: what the server
// cannot apply as the scope means is refused rather than widened.
func constraints(typ string, queries []url.Values) []search.Constraint {
	out := []search.Constraint{}
	for _, q := range queries {
		if c, ok := constraint(typ, q); ok {
			out = append(out, c)
		}
	}
	return out
}

func constraint(typ string, q url.Values) (search.Constraint, bool) {
	if len(q) == 0 {
		return nil, false
	}
	for name := range q {
		sp, ok := searchparam.Lookup(typ, name)
		if !ok || sp.Type != searchparam.Token {
			return nil, false
		}
	}
	parsed, err := search.Parse(typ, q, search.Options{})
	if err != nil || len(parsed.Ignored) > 0 || len(parsed.Filters) == 0 {
		return nil, false
	}
	for _, f := range parsed.Filters {
		if f.Param == nil || f.Param.Type != searchparam.Token || f.Modifier != search.NoModifier || f.Chain != nil || f.Has != nil {
			return nil, false
		}
	}
	return search.Constraint(parsed.Filters), true
}

// constraintList renders constraint queries for a message.
func constraintList(cs []url.Values) string {
	parts := make([]string, len(cs))
	for i, q := range cs {
		parts[i] = "?" + q.Encode()
	}
	return strings.Join(parts, " or ")
}

func interactionName(in smart.Interaction) string {
	switch in {
	case smart.Create:
		return "create"
	case smart.Read:
		return "read"
	case smart.Update:
		return "update"
	case smart.Delete:
		return "delete"
	case smart.Search:
		return "search"
	}
	return string(rune(in))
}
