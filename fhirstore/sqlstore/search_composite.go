package sqlstore

import (
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// compositeOf writes a SELECT of the rids matching v for the composite code
// (whose components are p's): its own group rows, or, for an alias, the
// rows it is read from.
func (c *compiler) compositeOf(types []string, p *searchparam.Param, code string, v *search.Value) {
	var a alias
	ok := false
	if len(types) > 0 {
		a, ok = aliasesOf(types[0])[code]
	}
	switch {
	case ok && len(a.Components) > 0:
		// A composite of the resource itself: its one element holds every
		// component, so each component is a plain parameter's value.
		c.rootComposite(types, p, a.Components, v)
	case ok:
		for i, code := range a.Params {
			if i > 0 {
				c.w(" UNION ")
			}
			c.compositeOf(types, p, code, v)
		}
	default:
		c.groupComposite(types, p, code, v)
	}
}

// rootComposite matches v's components on the plain parameters plain.
func (c *compiler) rootComposite(types []string, p *searchparam.Param, plain []string, v *search.Value) {
	prev := ""
	for i, comp := range p.Components {
		x := c.alias("k")
		if i > 0 {
			c.w(" AND ", prev, ".rid IN (")
		}
		c.w("SELECT ", x, ".rid FROM ", indexTables[tableFor(comp.Type)].name, " ", x, " WHERE ")
		c.indexRows(x, types, plain[i])
		c.w(" AND ")
		c.value(x, comp.Type, search.NoModifier, &v.Components[i])
		prev = x
	}
	for i := 1; i < len(p.Components); i++ {
		c.w(")")
	}
}

// groupComposite joins the component rows of one group of code.
func (c *compiler) groupComposite(types []string, p *searchparam.Param, code string, v *search.Value) {
	comps := make([]string, len(p.Components))
	for i := range comps {
		comps[i] = c.alias("k")
	}
	c.w("SELECT ", comps[0], ".rid FROM ")
	for i, comp := range p.Components {
		if i > 0 {
			c.w(" JOIN ")
		}
		c.w(indexTables[tableFor(comp.Type)].name, " ", comps[i])
		if i > 0 {
			k, k0 := comps[i], comps[0]
			c.w(" ON ", k, ".rid = ", k0, ".rid AND ", k, ".sandbox = ", k0, ".sandbox AND ", k, ".type = ", k0, ".type AND ",
				k, ".param = ", k0, ".param AND ", k, ".grp = ", k0, ".grp")
		}
	}
	c.w(" WHERE ")
	c.indexRows(comps[0], types, code)
	for i, comp := range p.Components {
		c.w(" AND ", comps[i], ".comp = ", itoa(i), " AND ")
		c.value(comps[i], comp.Type, search.NoModifier, &v.Components[i])
	}
}
