package sandbox

import (
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
	"hpsandbox/smart"
)

// confineReads makes a search read only what the token may read. A chain
// (subject:Patient.name) or a _has looks at resources the answer never
// shows, so checking the answer is not enough: their types must be
// searchable under the token's scopes (else 403), a constrained scope
// cannot be applied to them yet (403), and at patient level the store is
// told to confine them, with the matches and what _include and _revinclude
// add, to the patient's compartment (search.Confinement), so that a filter
// cannot observe another patient and an include does not refuse the whole
// answer for what lies outside.
// It answers the request itself (false) when it refuses or when the
// search cannot be parsed.
func (g *guard) confineReads(c *gin.Context, a *access, in interaction) bool {
	if err := c.Request.ParseForm(); err != nil {
		// Refused here: a form read once and failed reads as empty the
		// next time, and the search would run unchecked on the query.
		writeOutcome(c, outcome.New(outcome.Incorrect, outcome.Invalid, "the form body cannot be read: %v", err))
		return false
	}
	q, err := search.Parse(in.typ, c.Request.Form, search.Options{Base: a.base})
	if err != nil {
		var oe *outcome.Error
		if !errors.As(err, &oe) {
			oe = outcome.New(outcome.Incorrect, outcome.Invalid, "%v", err)
		}
		writeOutcome(c, oe)
		return false
	}
	conf, err := a.searchReads(q)
	if err != nil {
		forbid(c, "%s", err.Error())
		return false
	}
	if conf != nil {
		c.Request = c.Request.WithContext(search.ConfineTo(c.Request.Context(), conf))
	}
	return true
}

// searchReads checks the types a parsed search reads through chains and
// _has (search permission needed, no v2 constraints), and returns the
// confinement the store must apply, or nil when it needs none: the
// patient-level types among those, the searched ones and those _include
// and _revinclude may add, and as excluded the searched (system search) and
// added types the token may not read at all.
func (a *access) searchReads(q *search.Query) (*search.Confinement, error) {
	conf := &search.Confinement{Types: []string{}}
	patient := ""
	confine := func(typ string, p smart.Permission) {
		if p.Level == smart.LevelPatient && !slices.Contains(conf.Types, typ) {
			conf.Types = append(conf.Types, typ)
			patient = p.Patient
		}
	}
	types := q.Types
	if len(types) == 0 {
		types = searchparam.ResourceTypes()
	}
	exclude := func(typ string) {
		if !slices.Contains(conf.Excluded, typ) {
			conf.Excluded = append(conf.Excluded, typ)
		}
	}
	for _, typ := range types {
		// A type the token cannot search is never seen (a system search
		// names types, or all of them, that the token may not read).
		if p, err := a.permit(typ, smart.Search); err == nil {
			confine(typ, p)
		} else if len(q.Types) != 1 {
			exclude(typ)
		}
	}
	read := func(name, typ string) error {
		p, err := a.permit(typ, smart.Search)
		if err != nil {
			return fmt.Errorf("the token's scopes do not permit search on %s, which %s reads", typ, name)
		}
		if len(p.Constraints) > 0 {
			return fmt.Errorf("%s reads %s, whose scope has constraints that cannot be applied to a chain or _has yet", name, typ)
		}
		confine(typ, p)
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
			return nil, err
		}
	}
	// What _include and _revinclude may add is confined the same way, and
	// a type the token cannot read at all is never added: else whether the
	// answer is refused would tell that such a resource points at a match.
	for _, typ := range includedTypes(q) {
		if p, err := a.permit(typ, smart.Read); err == nil {
			confine(typ, p)
		} else {
			exclude(typ)
		}
	}
	if len(conf.Types) == 0 && len(conf.Excluded) == 0 {
		return nil, nil
	}
	conf.Compartment = search.Compartment{Type: "Patient", ID: patient}
	return conf, nil
}

// conditionReads checks the types a conditional interaction's criteria
// (query, on typ; none for an interaction that is not conditional) read
// through chains and _has. Criteria that do not parse are left to the API,
// which refuses them before searching.
func (a *access) conditionReads(typ, query string) error {
	if query == "" {
		return nil
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil
	}
	q, err := search.Parse(typ, params, search.Options{Base: a.base})
	if err != nil {
		return nil
	}
	_, err = a.searchReads(q)
	return err
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
