package sqlstore

import (
	"context"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

// maxIncluded bounds the resources _include and _revinclude add to a page;
// search.MaxIncludeDepth bounds the rounds of :iterate.
const maxIncluded = 1000

// include returns the resources that q's _include and _revinclude add to
// the matches: each once, none of them a match. Includes without :iterate
// start from the matches only; with it, they also start from what was
// included, round after round, until nothing new comes.
func (t *tx) include(ctx context.Context, sandbox string, q *search.Query, matches []*match) ([]*fhirstore.Resource, error) {
	seen := map[string]bool{}
	for _, m := range matches {
		seen[m.res.Type+"/"+m.res.ID] = true
	}
	var out []*fhirstore.Resource
	from := matches
	for round := 0; round < search.MaxIncludeDepth && len(from) > 0 && len(out) < maxIncluded; round++ {
		var next []*match
		for _, pass := range []struct {
			incs    []search.Include
			reverse bool
		}{{q.Include, false}, {q.RevInclude, true}} {
			for _, inc := range pass.incs {
				if round > 0 && !inc.Iterate {
					continue
				}
				found, err := t.includeOne(ctx, sandbox, inc, pass.reverse, from)
				if err != nil {
					return nil, err
				}
				for _, m := range found {
					k := m.res.Type + "/" + m.res.ID
					if seen[k] || len(out) >= maxIncluded {
						continue
					}
					seen[k] = true
					out = append(out, m.res)
					next = append(next, m)
				}
			}
		}
		from = next
	}
	return out, nil
}

// includeOne runs one _include (the resources that from refer to) or
// _revinclude (the resources that refer to from).
func (t *tx) includeOne(ctx context.Context, sandbox string, inc search.Include, reverse bool, from []*match) ([]*match, error) {
	c := &compiler{d: t.s.d, sandbox: sandbox, now: time.Now(), confine: search.ConfinementOf(ctx)}
	if !c.include(sandbox, inc, reverse, from) {
		return nil, nil
	}
	found, _, err := t.queryMatches(ctx, c, 0)
	return found, err
}

// include writes the statement of one _include or _revinclude; false when
// there is nothing to look up.
func (c *compiler) include(sandbox string, inc search.Include, reverse bool, from []*match) bool {
	// CROSS JOIN keeps SQLite from scanning the resources of the sandbox
	// first: the reference rows of a page are few.
	c.w("SELECT DISTINCT t.rid, t.type, t.id, t.version, t.last_updated, t.method, t.body FROM idx_reference x ", c.d.orderedJoin(), " resource t ON ")
	if !reverse {
		rids := make([]any, 0, len(from))
		for _, m := range from {
			if inc.SourceType == "" || m.res.Type == inc.SourceType {
				rids = append(rids, m.rid)
			}
		}
		if len(rids) == 0 {
			return false
		}
		c.w("t.type = x.target_type AND t.id = x.target_id WHERE x.rid IN (")
		for i, r := range rids {
			if i > 0 {
				c.w(", ")
			}
			c.arg(r)
		}
		// The rids are the page's, so the sandbox check must not choose
		// the index: "|| ''" keeps SQLite on the rid index.
		c.w(") AND x.sandbox || '' = ")
		c.arg(sandbox)
	} else {
		c.w("t.rid = x.rid WHERE x.sandbox = ")
		c.arg(sandbox)
		if inc.SourceType != "" {
			c.w(" AND x.type = ")
			c.arg(inc.SourceType)
		}
		byType := map[string][]string{}
		var types []string
		for _, m := range from {
			if _, ok := byType[m.res.Type]; !ok {
				types = append(types, m.res.Type)
			}
			byType[m.res.Type] = append(byType[m.res.Type], m.res.ID)
		}
		c.w(" AND (")
		for i, typ := range types {
			if i > 0 {
				c.w(" OR ")
			}
			c.w("(x.target_type = ")
			c.arg(typ)
			c.w(" AND x.target_id IN ")
			c.list(byType[typ])
			c.w(")")
		}
		c.w(")")
	}
	if inc.Param != nil {
		c.w(" AND (")
		c.paramIs("x", []string{inc.SourceType}, inc.Param.Code)
		c.w(")")
	}
	if inc.TargetType != "" {
		c.w(" AND x.target_type = ")
		c.arg(inc.TargetType)
	}
	c.w(" AND t.sandbox = ")
	c.arg(sandbox)
	c.w(" AND t.method <> 'DELETE'")
	// A confined search includes only what lies in the compartment.
	c.probe = true
	c.confinedRows("t", nil)
	c.probe = false
	c.w(" ORDER BY t.rid")
	return true
}
