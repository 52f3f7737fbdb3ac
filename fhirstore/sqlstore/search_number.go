package sqlstore

import (
	"math"

	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// A number or quantity row is a point (its value, low = high) or a Range
// (no value, its bounds). The key orders rows by low, then high, so that
// a comparison of low (lt, le, sa, eq …) reads a range of the key bounded
// at both ends by the parameter (and unit) and the value. A comparison of
// high (gt, ge, ap) is split in two: the rows whose low already lies past
// the bound, a range of the key holding nothing else; and the Ranges that
// start before it and reach past it, read from the partial index of Ranges
// by high (idx_number_range, idx_quantity_range), which holds no point. A
// point never straddles a bound, so the two parts are every match.

// numberRids writes a SELECT of the rids with a row of the number or
// quantity parameter f matching any of its values.
func (c *compiler) numberRids(types []string, f *search.Filter) {
	type term struct {
		v        *search.Value
		straddle bool
	}
	var terms []term
	for i := range f.Values {
		v := &f.Values[i]
		terms = append(terms, term{v, false})
		if splitsHigh(v.Prefix) {
			terms = append(terms, term{v, true})
		}
	}
	tab := indexTables[tableFor(f.Param.Type)].name
	c.unionOf(len(terms), func(i int) {
		v := terms[i].v
		x := c.alias("x")
		c.w("SELECT ", x, ".rid FROM ", tab, " ", x, " WHERE ")
		c.indexRows(x, types, f.Param.Code)
		if f.Param.Type == searchparam.Quantity {
			c.unit(x, v)
		}
		c.w(" AND ")
		if !terms[i].straddle {
			c.numberSeek(x, v)
			return
		}
		c.numberStraddle(x, v)
	})
}

// splitsHigh reports a prefix that compares the row's high bound.
func splitsHigh(p search.Prefix) bool {
	return p == search.GT || p == search.GE || p == search.AP
}

// numberSeek writes the comparison of row x with v by its low bound: for
// a prefix that compares high (splitsHigh), the rows whose low lies past
// the bound, which match whatever their high; otherwise the whole
// comparison (number).
func (c *compiler) numberSeek(x string, v *search.Value) {
	switch v.Prefix {
	case search.GT:
		c.w(x, ".low > ")
		c.arg(v.Number)
	case search.GE:
		c.w(x, ".low >= ")
		c.arg(v.Number)
	case search.AP:
		d := math.Abs(v.Number) / 10
		c.w(x, ".low >= ")
		c.arg(v.Number - d)
		c.w(" AND ", x, ".low <= ")
		c.arg(v.Number + d)
	default:
		c.number(x, v)
	}
}

// numberStraddle writes the rest of a comparison of high (splitsHigh): the
// Ranges that start before the bound and reach past it.
func (c *compiler) numberStraddle(x string, v *search.Value) {
	bound, op := v.Number, " > "
	switch v.Prefix {
	case search.GE:
		op = " >= "
	case search.AP:
		bound, op = v.Number-math.Abs(v.Number)/10, " >= "
	}
	lowOp := " <= "
	if op == " >= " {
		lowOp = " < "
	}
	// "+low" seeks no index: the partial index of Ranges drives, not the
	// key's range of every row below the bound.
	c.w(x, ".value IS NULL AND ", x, ".high", op)
	c.arg(bound)
	c.w(" AND +", x, ".low", lowOp)
	c.arg(bound)
}

// unit writes " AND" the unit of a quantity value on row x, when it has one.
func (c *compiler) unit(x string, v *search.Value) {
	switch {
	case v.HasSystem:
		c.w(" AND ", x, ".system = ")
		c.arg(v.System)
		c.w(" AND ", x, ".code = ")
		c.arg(v.Code)
	case v.Code != "":
		c.w(" AND (", x, ".code = ")
		c.arg(v.Code)
		c.w(" OR ", x, ".unit = ")
		c.arg(v.Code)
		c.w(")")
	}
}
