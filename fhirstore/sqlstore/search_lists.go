package sqlstore

import (
	"strings"

	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// keyList is values that each fix the same index columns (a token's code,
// or code and system; a reference's id, or id and type; a uri), matched as
// one IN list: SQLite plans an IN list in time linear in its length, a
// disjunction of as many equalities in far more.
type keyList struct {
	cols []string
	vals [][]any
}

// keyed returns the index columns v fixes and their values; ok is false
// for a value matched otherwise (a range, a prefix, a modifier's own test).
func keyed(t searchparam.Type, mod search.Modifier, v *search.Value) (cols []string, vals []any, ok bool) {
	switch t {
	case searchparam.Token:
		if (mod != search.NoModifier && mod != search.Not) || v.Code == "" {
			return nil, nil, false
		}
		if v.HasSystem {
			return []string{"code", "system"}, []any{v.Code, v.System}, true
		}
		return []string{"code"}, []any{v.Code}, true
	case searchparam.Reference:
		if (mod != search.NoModifier && mod != search.TypeModifier) || v.RefURL != "" || v.RefID == "" {
			return nil, nil, false
		}
		if v.RefType != "" {
			return []string{"target_id", "target_type"}, []any{v.RefID, v.RefType}, true
		}
		return []string{"target_id"}, []any{v.RefID}, true
	case searchparam.URI:
		if mod == search.NoModifier {
			return []string{"value"}, []any{v.Str}, true
		}
	}
	return nil, nil, false
}

// valueGroups splits the values of f into lists of values that fix the
// same key columns and the rest. One value is always the rest, matched as
// before there were lists.
func valueGroups(f *search.Filter) (lists []*keyList, rest []*search.Value) {
	byCols := map[string]*keyList{}
	for i := range f.Values {
		v := &f.Values[i]
		cols, vals, ok := keyed(f.Param.Type, f.Modifier, v)
		if !ok || len(f.Values) == 1 {
			rest = append(rest, v)
			continue
		}
		k := strings.Join(cols, ",")
		l := byCols[k]
		if l == nil {
			l = &keyList{cols: cols}
			byCols[k] = l
			lists = append(lists, l)
		}
		l.vals = append(l.vals, vals)
	}
	return lists, rest
}

// inList writes "x.col IN (?, …)" or "(x.a, x.b) IN (VALUES (?, ?), …)".
func (c *compiler) inList(x string, l *keyList) {
	if len(l.cols) == 1 {
		c.w(x, ".", l.cols[0], " IN (")
		for i, v := range l.vals {
			if i > 0 {
				c.w(", ")
			}
			c.arg(v[0])
		}
		c.w(")")
		return
	}
	c.w("(")
	for i, col := range l.cols {
		if i > 0 {
			c.w(", ")
		}
		c.w(x, ".", col)
	}
	c.w(") IN (VALUES ")
	for i, v := range l.vals {
		if i > 0 {
			c.w(", ")
		}
		c.w("(")
		for j, a := range v {
			if j > 0 {
				c.w(", ")
			}
			c.arg(a)
		}
		c.w(")")
	}
	c.w(")")
}
