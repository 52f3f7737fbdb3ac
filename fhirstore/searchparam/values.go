package searchparam

import (
	"encoding/json"
	"math"
	"strconv"
)

// rowKey is what every row of one value shares.
type rowKey struct {
	param            string
	group, component int
}

// The add* functions turn one value found by an expression into rows. The
// value is decoded JSON (string, json.Number, bool or map); its FHIR type is
// read from its shape, which is unambiguous for the types each search
// parameter type allows.

func (x *Index) addString(k rowKey, v any) {
	switch v := v.(type) {
	case string:
		if v != "" {
			x.Strings = append(x.Strings, StringRow{k.param, k.group, k.component, Normalize(v), v})
		}
	case map[string]any:
		// HumanName and Address are searched by each of their parts.
		for _, f := range nameAddressParts {
			appendFlatTo(v[f], func(part any) { x.addString(k, part) })
		}
	}
}

var nameAddressParts = []string{
	"text", "family", "given", "prefix", "suffix",
	"line", "city", "district", "state", "postalCode", "country",
}

// contactSystems are the ContactPoint.system codes; an Identifier's system is a URI.
var contactSystems = map[string]bool{
	"phone": true, "fax": true, "email": true, "pager": true, "url": true, "sms": true, "other": true,
}

func (x *Index) addToken(k rowKey, v any) {
	row := TokenRow{Param: k.param, Group: k.group, Component: k.component}
	switch v := v.(type) {
	case string:
		row.Code = v
	case bool:
		row.Code = strconv.FormatBool(v)
	case json.Number:
		row.Code = v.String()
	case map[string]any:
		x.addTokenObject(row, v)
		return
	default:
		return
	}
	if row.Code != "" {
		x.Tokens = append(x.Tokens, row)
	}
}

func (x *Index) addTokenObject(row TokenRow, m map[string]any) {
	str := func(f string) string { s, _ := m[f].(string); return s }
	switch {
	case m["coding"] != nil || (m["text"] != nil && m["value"] == nil && m["code"] == nil):
		// CodeableConcept
		appendFlatTo(m["coding"], func(c any) {
			if cm, ok := c.(map[string]any); ok {
				x.addTokenObject(row, cm)
			}
		})
		if t := str("text"); t != "" {
			r := row
			r.Text = Normalize(t)
			x.Tokens = append(x.Tokens, r)
		}
	case m["code"] != nil:
		// Coding
		row.System, row.Code, row.Text = str("system"), str("code"), Normalize(str("display"))
		if row.Code != "" {
			x.Tokens = append(x.Tokens, row)
		}
	case m["value"] != nil:
		row.System, row.Code = str("system"), str("value")
		if row.Code == "" || contactSystems[row.System] {
			// ContactPoint: the system is the kind of contact (phone, email, …).
			if row.Code != "" {
				x.Tokens = append(x.Tokens, row)
			}
			return
		}
		// Identifier: the type coding supports :of-type, the type text :text.
		typ, _ := m["type"].(map[string]any)
		if t, ok := typ["text"].(string); ok {
			row.Text = Normalize(t)
		}
		n := len(x.Tokens)
		appendFlatTo(typ["coding"], func(c any) {
			cm, _ := c.(map[string]any)
			r := row
			r.TypeSystem, _ = cm["system"].(string)
			r.TypeCode, _ = cm["code"].(string)
			x.Tokens = append(x.Tokens, r)
		})
		if len(x.Tokens) == n {
			x.Tokens = append(x.Tokens, row)
		}
	}
}

func (x *Index) addReference(k rowKey, v any) {
	row := ReferenceRow{Param: k.param, Group: k.group, Component: k.component}
	switch v := v.(type) {
	case string:
		// canonical or uri
		if !setReference(&row, v) {
			return
		}
	case map[string]any:
		if rt, ok := v["resourceType"].(string); ok {
			// A resource in place of a reference (Bundle.entry[0].resource).
			row.TargetType = rt
			row.TargetID, _ = v["id"].(string)
			break
		}
		ref, _ := v["reference"].(string)
		found := ref != "" && setReference(&row, ref)
		if id, ok := v["identifier"].(map[string]any); ok {
			row.IdentifierSystem, _ = id["system"].(string)
			row.IdentifierValue, _ = id["value"].(string)
			found = found || row.IdentifierValue != ""
		}
		if !found {
			return
		}
		if row.TargetType == "" && row.URL == "" {
			row.TargetType, _ = v["type"].(string)
		}
	default:
		return
	}
	x.References = append(x.References, row)
}

func setReference(row *ReferenceRow, ref string) bool {
	r, ok := parseReference(ref)
	if !ok {
		return false
	}
	row.TargetType, row.TargetID, row.Version, row.URL = r.typ, r.id, r.version, r.url
	return true
}

func (x *Index) addDate(k rowKey, v any) {
	low, high, ok := dateValue(v)
	if ok {
		x.Dates = append(x.Dates, DateRow{k.param, k.group, k.component, low, high})
	}
}

func dateValue(v any) (low, high int64, ok bool) {
	switch v := v.(type) {
	case string:
		return DateRange(v)
	case map[string]any:
		if ev, has := v["event"]; has {
			// Timing: only the outer limits of its events are searched.
			low, high = MaxTime, MinTime
			appendFlatTo(ev, func(e any) {
				if l, h, ok2 := dateValue(e); ok2 {
					low, high, ok = min(low, l), max(high, h), true
				}
			})
			return low, high, ok
		}
		s, hasStart := v["start"].(string)
		e, hasEnd := v["end"].(string)
		if !hasStart && !hasEnd {
			return 0, 0, false
		}
		low, high = MinTime, MaxTime
		if hasStart {
			if low, _, ok = DateRange(s); !ok {
				return 0, 0, false
			}
		}
		if hasEnd {
			if _, high, ok = DateRange(e); !ok {
				return 0, 0, false
			}
		}
		return low, high, true
	}
	return 0, 0, false
}

func (x *Index) addNumber(k rowKey, v any) {
	row := NumberRow{Param: k.param, Group: k.group, Component: k.component}
	switch v := v.(type) {
	case json.Number:
		var ok bool
		if row.Low, row.High, ok = DecimalRange(v.String()); !ok {
			return
		}
		row.Value = v.String()
	case map[string]any:
		var ok bool
		if row.Low, row.High, ok = rangeBounds(v); !ok {
			return
		}
	default:
		return
	}
	x.Numbers = append(x.Numbers, row)
}

func (x *Index) addQuantity(k rowKey, v any) {
	row := QuantityRow{Param: k.param, Group: k.group, Component: k.component}
	switch v := v.(type) {
	case json.Number:
		var ok bool
		if row.Low, row.High, ok = DecimalRange(v.String()); !ok {
			return
		}
		row.Value = v.String()
	case map[string]any:
		if n, ok := v["value"].(json.Number); ok {
			if row.Low, row.High, ok = DecimalRange(n.String()); !ok {
				return
			}
			row.Value = n.String()
			row.Unit, _ = v["unit"].(string)
			if cur, ok := v["currency"].(string); ok {
				row.System, row.Code = "urn:iso:std:iso:4217", cur
			} else {
				row.System, _ = v["system"].(string)
				row.Code, _ = v["code"].(string)
			}
			break
		}
		// Range; SampledData has no single value and is not indexed.
		var ok bool
		if row.Low, row.High, ok = rangeBounds(v); !ok {
			return
		}
		for _, end := range []string{"low", "high"} {
			if q, isMap := v[end].(map[string]any); isMap && row.Code == "" {
				row.System, _ = q["system"].(string)
				row.Code, _ = q["code"].(string)
				row.Unit, _ = q["unit"].(string)
			}
		}
	default:
		return
	}
	x.Quantities = append(x.Quantities, row)
}

// rangeBounds reads a Range: from the low end of low to the high end of high,
// infinite where a side is missing.
func rangeBounds(m map[string]any) (low, high float64, ok bool) {
	low, high = math.Inf(-1), math.Inf(1)
	lo, hasLow := m["low"].(map[string]any)
	hi, hasHigh := m["high"].(map[string]any)
	if hasLow {
		n, isNum := lo["value"].(json.Number)
		if !isNum {
			return 0, 0, false
		}
		if low, _, ok = DecimalRange(n.String()); !ok {
			return 0, 0, false
		}
	}
	if hasHigh {
		n, isNum := hi["value"].(json.Number)
		if !isNum {
			return 0, 0, false
		}
		if _, high, ok = DecimalRange(n.String()); !ok {
			return 0, 0, false
		}
	}
	return low, high, hasLow || hasHigh
}

func (x *Index) addURI(k rowKey, v any) {
	if s, ok := v.(string); ok && s != "" {
		x.URIs = append(x.URIs, URIRow{k.param, k.group, k.component, s})
	}
}

// appendFlatTo calls fn for v, or for each element when v is a JSON array.
func appendFlatTo(v any, fn func(any)) {
	switch v := v.(type) {
	case nil:
	case []any:
		for _, e := range v {
			if e != nil {
				fn(e)
			}
		}
	default:
		fn(v)
	}
}
