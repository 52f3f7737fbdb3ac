package access

import (
	"fmt"
	"slices"

	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
	"hpsandbox/smart"
)

// searchReads decides what a parsed search reads: the searched types (at
// least search permission each; of a system search, those the token may
// not search are never seen), the types its chains and _has read (search
// permission needed, else refused, since their filters observe resources
// the answer never shows), and those its _include and _revinclude may add
// (read permission, else never added: whether an answer was refused would
// tell that such a resource points at a match). What it reads is confined
// as the token's permission of each type says, inside the query; b
// collects that.
func (g *grant) searchReads(q *search.Query, b *confinement) error {
	types := q.Types
	if len(types) == 0 {
		types = searchparam.ResourceTypes()
	}
	for _, typ := range types {
		if p, err := g.permit(typ, smart.Search); err == nil {
			b.add(typ, p)
		} else if len(q.Types) != 1 {
			b.exclude(typ)
		}
	}
	read := func(name, typ string) error {
		p, err := g.permit(typ, smart.Search)
		if err != nil {
			return fmt.Errorf("the token's scopes do not permit search on %s, which %s reads", typ, name)
		}
		b.add(typ, p)
		return nil
	}
	// A chain reads its target types, a _has its type, and so on down.
	var walk func(f *search.Filter) error
	walk = func(f *search.Filter) error {
		switch {
		case f.Chain != nil:
			for _, t := range f.Chain.Types {
				if err := read(f.Name, t); err != nil {
					return err
				}
			}
			return walk(f.Chain.Filter)
		case f.Has != nil:
			if err := read(f.Name, f.Has.Type); err != nil {
				return err
			}
			return walk(f.Has.Filter)
		}
		return nil
	}
	for _, f := range q.Filters {
		if err := walk(f); err != nil {
			return err
		}
	}
	for _, typ := range includedTypes(q) {
		if p, err := g.permit(typ, smart.Read); err == nil {
			b.add(typ, p)
		} else {
			b.exclude(typ)
		}
	}
	return nil
}

// includedTypes are the types q's _include and _revinclude may add: an
// include's target type, else its parameter's targets, else (for * or a
// parameter that may refer to anything) every type; a revinclude's source
// type, else every type.
func includedTypes(q *search.Query) []string {
	var out []string
	add := func(types ...string) {
		for _, t := range types {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	for _, inc := range q.Include {
		switch {
		case inc.TargetType != "":
			add(inc.TargetType)
		case inc.Param != nil && len(inc.Param.Targets) > 0:
			add(inc.Param.Targets...)
		default:
			return searchparam.ResourceTypes()
		}
	}
	for _, inc := range q.RevInclude {
		if inc.SourceType == "" {
			return searchparam.ResourceTypes()
		}
		add(inc.SourceType)
	}
	return out
}
