package sqlstore

import (
	"slices"
	"strings"
	"sync"

	"hpsandbox/fhirstore/searchparam"
)

// alias is a parameter whose values are exactly those of other parameters
// of the same type, so its rows are not written: Observation combo-code is
// code | component-code, and patient is subject where the target is a
// Patient. Searches read the rows of Params (of TargetType, when set).
// A third of an Observation's index rows were such copies.
type alias struct {
	Params     []string
	TargetType string
	// Components, for a composite of the resource itself (Observation
	// code-value-quantity), are the plain parameters holding each
	// component's values: the resource is the one element, so any values
	// of those parameters belong together.
	Components []string
}

var aliases sync.Map // resource type → map[code]alias

// aliasesOf derives the aliases of a type from the expressions of its
// parameters: a parameter whose union of expression parts is exactly the
// union of other parameters' parts (composites: with the same components),
// or whose one part is another's expression followed by
// .where(resolve() is Type).
func aliasesOf(typ string) map[string]alias {
	if v, ok := aliases.Load(typ); ok {
		return v.(map[string]alias)
	}
	params := searchparam.ForType(typ)
	parts := func(expr string) []string {
		var out []string
		for _, p := range strings.Split(expr, "|") {
			out = append(out, strings.TrimSpace(p))
		}
		slices.Sort(out)
		return out
	}
	out := map[string]alias{}
	for _, p := range params {
		if strings.HasPrefix(p.Code, "_") {
			continue
		}
		mine := parts(p.Expression)
		if p.Type == searchparam.Composite && p.Expression == typ {
			if plain, ok := rootComponents(typ, p, params); ok {
				out[p.Code] = alias{Components: plain}
			}
			continue
		}
		if len(mine) == 1 && p.Type == searchparam.Reference {
			if base, t, ok := resolveIs(mine[0]); ok {
				for _, q := range params {
					if q != p && q.Type == searchparam.Reference && q.Expression == base {
						out[p.Code] = alias{Params: []string{q.Code}, TargetType: t}
					}
				}
			}
			continue
		}
		if len(mine) < 2 {
			continue
		}
		var union []string
		var codes []string
		for _, q := range params {
			if q == p || q.Type != p.Type || !sameComponents(p, q) {
				continue
			}
			theirs := parts(q.Expression)
			if subset(theirs, mine) {
				union = append(union, theirs...)
				codes = append(codes, q.Code)
			}
		}
		slices.Sort(union)
		if len(codes) > 1 && slices.Equal(slices.Compact(union), mine) {
			out[p.Code] = alias{Params: codes}
		}
	}
	aliases.Store(typ, out)
	return out
}

// rootComponents finds for each component of the root composite p a plain
// parameter whose expression covers the component's ("code" is
// Observation.code, "value.as(Quantity)" is (Observation.value as Quantity)).
func rootComponents(typ string, p *searchparam.Param, params []*searchparam.Param) ([]string, bool) {
	var out []string
	for _, comp := range p.Components {
		var want []string
		for _, part := range strings.Split(comp.Expression, "|") {
			part = strings.TrimSpace(part)
			if path, t, ok := strings.Cut(part, ".as("); ok && strings.HasSuffix(t, ")") {
				want = append(want, "("+typ+"."+path+" as "+strings.TrimSuffix(t, ")")+")")
			} else {
				want = append(want, typ+"."+part)
			}
		}
		// The covering parameter with the fewest parts: value-quantity,
		// not combo-value-quantity, which also holds the components'.
		found, fewest := "", 0
		for _, q := range params {
			if q.Type != comp.Type || q.Type == searchparam.Composite {
				continue
			}
			qparts := strings.Split(q.Expression, "|")
			covered := true
			for _, w := range want {
				hit := false
				for _, part := range qparts {
					hit = hit || strings.EqualFold(strings.TrimSpace(part), w)
				}
				covered = covered && hit
			}
			if covered && (found == "" || len(qparts) < fewest) {
				found, fewest = q.Code, len(qparts)
			}
		}
		if found == "" {
			return nil, false
		}
		out = append(out, found)
	}
	return out, true
}

// resolveIs splits "X.where(resolve() is T)" into X and T.
func resolveIs(expr string) (base, typ string, ok bool) {
	i := strings.LastIndex(expr, ".where(resolve() is ")
	if i < 0 || !strings.HasSuffix(expr, ")") {
		return "", "", false
	}
	return expr[:i], strings.TrimSuffix(expr[i+len(".where(resolve() is "):], ")"), true
}

func sameComponents(p, q *searchparam.Param) bool {
	if len(p.Components) != len(q.Components) {
		return false
	}
	for i := range p.Components {
		if p.Components[i].Expression != q.Components[i].Expression || p.Components[i].Type != q.Components[i].Type {
			return false
		}
	}
	return true
}

func subset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// skipParam says which extracted parameters are not written: _id and
// _lastUpdated are columns of the resource row, and aliases are read from
// the rows of the parameters they copy.
func skipParam(typ, code string) bool {
	if code == "_id" || code == "_lastUpdated" {
		return true
	}
	_, ok := aliasesOf(typ)[code]
	return ok
}

// paramIs writes the condition that index row x holds values of param for
// the resource types types (each type may resolve the code differently).
func (c *compiler) paramIs(x string, types []string, param string) {
	if len(types) == 0 {
		types = []string{""}
	}
	c.anyOf(len(types), func(i int) {
		typ := types[i]
		if len(types) > 1 {
			c.w(x, ".type = ")
			c.arg(typ)
			c.w(" AND ")
		}
		a, ok := aliasesOf(typ)[param]
		switch {
		case !ok:
			c.w(x, ".param = ")
			c.arg(param)
		case len(a.Params) == 1:
			c.w(x, ".param = ")
			c.arg(a.Params[0])
		default:
			c.w(x, ".param IN ")
			c.list(a.Params)
		}
		if ok && a.TargetType != "" {
			c.w(" AND ", x, ".target_type = ")
			c.arg(a.TargetType)
		}
	})
}
