package sqlstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// A history or a vread under a confinement answers only the versions it
// lets be seen: a current version as a search would see it (its index
// rows), a past one by the facts its archiving kept (history_index.go),
// and a deletion as the version it deleted, so that a resource's removal
// is seen by those who saw the resource.

// pastDeleted is the version whose facts judge a history row h: its own,
// or for a deletion the one before it.
const pastDeleted = "CASE WHEN h.method = 'DELETE' THEN h.version - 1 ELSE h.version END"

// confinedVersions returns the conditions, each " AND …" (or "" when conf
// is nil), and their arguments, that keep the rows of resource (alias r)
// and of resource_history (alias h) of types (every type for none) to the
// versions conf lets be seen. few says the rows are few (one resource's):
// each then looks up its own index rows.
//
// The text of a confinement without constraints (a patient's compartment,
// say) depends on its shape only, not on the compartment's id or the
// sandbox: it is built once per shape (confinedShapes) and its arguments
// filled in per call. A system history's text holds a condition for every
// type of the compartment and is long.
func confinedVersions(sandbox string, conf *search.Confinement, types []string, few bool) (cur string, curArgs []any, past string, pastArgs []any) {
	if conf == nil {
		return "", nil, "", nil
	}
	key, ok := confinedShapeKey(conf, types, few)
	if !ok {
		return buildConfinedVersions(sandbox, conf, types, few)
	}
	v, hit := confinedShapes.Load(key)
	if !hit {
		shape := *conf
		shape.Compartment.ID = idSlot
		var s confinedShape
		s.cur, s.curArgs, s.past, s.pastArgs = buildConfinedVersions(sandboxSlot, &shape, types, few)
		s.curSlots, s.pastSlots = slotsOf(s.curArgs), slotsOf(s.pastArgs)
		v = &s
		if confinedShapeCount.Add(1) <= maxConfinedShapes {
			confinedShapes.Store(key, v)
		}
	}
	s := v.(*confinedShape)
	fill := func(args []any, slots []int) []any {
		out := slices.Clone(args)
		for _, i := range slots {
			if out[i] == sandboxSlot {
				out[i] = sandbox
			} else {
				out[i] = conf.Compartment.ID
			}
		}
		return out
	}
	return s.cur, fill(s.curArgs, s.curSlots), s.past, fill(s.pastArgs, s.pastSlots)
}

// slotsOf returns the places of sandboxSlot and idSlot in args.
func slotsOf(args []any) []int {
	var out []int
	for i, a := range args {
		if a == sandboxSlot || a == idSlot {
			out = append(out, i)
		}
	}
	return out
}

// confinedShape is the text of confinedVersions for one shape, with its
// arguments; sandboxSlot and idSlot stand for the sandbox and the
// compartment's id.
type confinedShape struct {
	cur, past           string
	curArgs, pastArgs   []any
	curSlots, pastSlots []int
}

// Stand-ins for the arguments that vary within a shape: no sandbox or id
// holds a NUL.
const (
	sandboxSlot = "\x00sandbox"
	idSlot      = "\x00id"
)

// confinedShapes holds the confinedShape of each key (confinedShapeKey),
// at most maxConfinedShapes of them: shapes come from the scopes clients
// are granted, which are few.
var (
	confinedShapes     sync.Map
	confinedShapeCount atomic.Int64
)

const maxConfinedShapes = 1024

// confinedShapeKey is the key of the shape of conf over types: everything
// but the compartment's id and the sandbox. ok is false for a confinement
// with constraints, whose filters are built per call.
func confinedShapeKey(conf *search.Confinement, types []string, few bool) (key string, ok bool) {
	if len(conf.Constraints) > 0 {
		return "", false
	}
	var b strings.Builder
	list := func(vs []string) {
		if vs == nil {
			b.WriteString("*")
		}
		for _, v := range vs {
			b.WriteString(v)
			b.WriteByte(',')
		}
		b.WriteByte('|')
	}
	list(types)
	list(conf.Types)
	list(conf.Excluded)
	b.WriteString(conf.Compartment.Type)
	b.WriteByte('|')
	b.WriteString(conf.Base)
	if few {
		b.WriteString("|few")
	}
	return b.String(), true
}

// buildConfinedVersions builds what confinedVersions returns.
func buildConfinedVersions(sandbox string, conf *search.Confinement, types []string, few bool) (cur string, curArgs []any, past string, pastArgs []any) {
	c := &compiler{sandbox: sandbox, confine: conf, probe: true, correlate: few}
	c.w(" AND (r.method <> 'DELETE'")
	c.confinedRows("r", types)
	c.w(" OR r.method = 'DELETE'")
	c.pastRows("r", "r.version - 1", types)
	c.w(")")
	cur, curArgs = c.b.String(), c.args
	c.b.Reset()
	c.args = nil
	c.pastRows("h", pastDeleted, types)
	return cur, curArgs, c.b.String(), c.args
}

// pastRows writes " AND" the condition that the versions alias (of types,
// or of any type for none) meet the confinement, judged by the facts of
// their version version (an SQL expression).
func (c *compiler) pastRows(alias, version string, types []string) {
	c.limitRows(alias, types,
		func(typ string) { c.pastCompartment(alias, version, typ) },
		func(typ string, cs []search.Constraint) { c.pastConstrained(alias, version, typ, cs) })
}

// factsOf writes the start of a subquery of the facts in table of the
// version of alias: "EXISTS (SELECT 1 FROM table x WHERE <x is its>".
func (c *compiler) factsOf(table, x, alias, version string) {
	c.w("EXISTS (SELECT 1 FROM ", table, " ", x, " WHERE ", x, ".sandbox = ", alias, ".sandbox AND ",
		x, ".type = ", alias, ".type AND ", x, ".id = ", alias, ".id AND ", x, ".version = ", version)
}

// pastCompartment writes the condition that the version of alias (of typ)
// lies in the compartment, as compartment does for current rows.
func (c *compiler) pastCompartment(alias, version, typ string) {
	c.inCompartment(alias, typ, &c.confine.Compartment, c.confine.Base, func(x string) {
		c.factsOf(historyTables[0], x, alias, version)
	})
}

// pastConstrained writes the condition that the version of alias (of typ)
// meets one of the alternatives cs. Past versions keep token values only:
// a filter of another kind, or with a modifier, matches none of them.
func (c *compiler) pastConstrained(alias, version, typ string, cs []search.Constraint) {
	if len(cs) == 0 {
		c.w("1 = 0")
		return
	}
	c.anyOf(len(cs), func(i int) {
		c.w("(")
		if len(cs[i]) == 0 {
			c.w("1 = 1")
		}
		for j, f := range cs[i] {
			if j > 0 {
				c.w(" AND ")
			}
			c.pastToken(alias, version, typ, f)
		}
		c.w(")")
	})
}

// pastToken writes the condition that the version of alias (of typ) has a
// value of the token filter f.
func (c *compiler) pastToken(alias, version, typ string, f *search.Filter) {
	switch {
	case f.Param == nil || f.Param.Type != searchparam.Token || f.Modifier != search.NoModifier || f.Chain != nil || f.Has != nil:
		c.w("1 = 0")
		return
	case f.Param.Code == "_id":
		c.idFilter(alias, f)
		return
	}
	x := c.alias("x")
	c.factsOf(historyTables[1], x, alias, version)
	c.w(" AND (")
	c.paramIs(x, []string{typ}, f.Param.Code)
	c.w(") AND (")
	c.anyOf(len(f.Values), func(i int) {
		c.w("(")
		c.token(x, search.NoModifier, &f.Values[i])
		c.w(")")
	})
	c.w("))")
}

// versionVisible reports whether version of typ/id is one that the
// confinement of ctx lets be seen (true when ctx has none that limits typ).
func (t *tx) versionVisible(ctx context.Context, sandbox, typ, id string, version int64) (bool, error) {
	conf := search.ConfinementOf(ctx)
	if !conf.Limits(typ) {
		return true, nil
	}
	cur, curArgs, past, pastArgs := confinedVersions(sandbox, conf, []string{typ}, true)
	key := " sandbox = ? AND type = ? AND id = ? AND version = ?"
	q := rebind(t.s.d, `SELECT COUNT(*) FROM (SELECT 1 AS one FROM resource r WHERE`+key+cur+
		` UNION ALL SELECT 1 AS one FROM resource_history h WHERE`+key+past+`) v`)
	args := append(append(append(append([]any{}, sandbox, typ, id, version), curArgs...), sandbox, typ, id, version), pastArgs...)
	var n int
	var err error
	if t.sqlTx == nil {
		n, err = t.searchCount(ctx, q, args) // prepared once (searchQuery)
	} else {
		err = t.q.QueryRowContext(ctx, q, args...).Scan(&n)
	}
	if err != nil {
		return false, t.wrap("vread confined", err)
	}
	return n > 0, nil
}
