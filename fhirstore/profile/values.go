package profile

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hpsandbox/fhirstore/outcome"
)

// parsed returns the typed value as a JSON tree, parsed once.
func (t *TypedValue) parsed() *jvalue {
	t.once.Do(func() {
		v, err := parseJSON(t.Value)
		if err != nil {
			v = &jvalue{kind: kNull}
		}
		t.tree = v
	})
	return t.tree
}

// values checks an occurrence's own value: format, fixed and pattern
// values, bounds, length, binding and reference target.
func (r *run) values(it item, el *Element, path pathID, strict bool, ctx *resourceCtx) {
	v := it.v
	if strict && isPrimitive(it.typ) {
		typ := it.typ
		if strings.HasSuffix(el.Path, ".id") && strings.Count(el.Path, ".") == 1 && isResourcePath(r.d, el.Path) {
			typ = "id"
		}
		r.primitive(v, typ, path)
	}
	if el.Fixed != nil && !equalJSON(el.Fixed.parsed(), v, true) {
		r.fixedMismatch(v, el.Fixed.parsed(), path, "fixed")
	}
	if el.Pattern != nil && !containsJSON(v, el.Pattern.parsed()) {
		r.add(outcome.ErrorLevel, outcome.Value, path, "pattern",
			"The value does not match the pattern %s required by the profile", compact(el.Pattern.Value))
	}
	if el.MinValue != nil || el.MaxValue != nil {
		r.bounds(v, el, path)
	}
	if el.MaxLength > 0 && v.kind == kString && utf8.RuneCountInString(v.str) > el.MaxLength {
		r.add(outcome.ErrorLevel, outcome.TooLong, path, "maxLength",
			"The value is %d characters long, more than the maximum of %d", utf8.RuneCountInString(v.str), el.MaxLength)
	}
	if el.Binding != nil && el.Binding.ValueSet != "" {
		r.binding(v, it.typ, el.Binding, path)
	}
	if it.typ == "Coding" && strict {
		r.codeSystem(v, path)
	}
	if (it.typ == "Reference" || it.typ == "canonical") && len(el.Type) > 0 {
		r.target(v, it.typ, el, path, ctx)
	}
	if it.typ == "Attachment" && strict {
		r.attachment(v, path)
	}
}

func isResourcePath(d *Definitions, path string) bool {
	c, err := d.compile(path[:strings.IndexByte(path, '.')])
	return err == nil && c.sd.Kind == "resource"
}

func compact(raw []byte) string {
	s := strings.Join(strings.Fields(string(raw)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// fixedMismatch names what differs from a fixed value, as a supplier reads it.
func (r *run) fixedMismatch(v, want *jvalue, path pathID, rule string) {
	if v.kind == kObject && want.kind == kObject {
		for _, f := range v.fields {
			if want.get(f.name) == nil {
				r.add(outcome.ErrorLevel, outcome.Value, r.child(path, f.name), rule,
					"The element %s is present in the instance but not allowed in the applicable fixed value specified in the profile", f.name)
			}
		}
		for _, f := range want.fields {
			if got := v.get(f.name); got == nil || !equalJSON(f.val, got, true) {
				r.add(outcome.ErrorLevel, outcome.Value, r.child(path, f.name), rule,
					"The value of %s must be %s as the profile fixes it", f.name, compact(f.val.raw))
			}
		}
		return
	}
	r.add(outcome.ErrorLevel, outcome.Value, path, rule, "The value is %s but the profile fixes it to %s", compact(v.raw), compact(want.raw))
}

// equalJSON reports whether two values are equal as FHIR values: numbers by
// value, objects member by member (in any order), arrays item by item.
func equalJSON(a, b *jvalue, exact bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case kNumber:
		x, err1 := strconv.ParseFloat(a.str, 64)
		y, err2 := strconv.ParseFloat(b.str, 64)
		return err1 == nil && err2 == nil && x == y
	case kObject:
		if len(a.fields) != len(b.fields) {
			return false
		}
		for _, f := range a.fields {
			if !equalJSON(f.val, b.get(f.name), exact) {
				return false
			}
		}
		return true
	case kArray:
		if len(a.items) != len(b.items) {
			return false
		}
		for i := range a.items {
			if !equalJSON(a.items[i], b.items[i], exact) {
				return false
			}
		}
		return true
	}
	return a.str == b.str
}

// containsJSON reports whether v has at least the content of pattern: every
// member of an object pattern, and a match for every item of an array pattern.
func containsJSON(v, pattern *jvalue) bool {
	if v == nil {
		return false
	}
	switch pattern.kind {
	case kObject:
		if v.kind != kObject {
			return false
		}
		for _, f := range pattern.fields {
			if !containsJSON(v.get(f.name), f.val) {
				return false
			}
		}
		return true
	case kArray:
		items := v.list()
		for _, p := range pattern.items {
			found := false
			for _, x := range items {
				if containsJSON(x, p) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	if v.kind == kArray {
		for _, x := range v.items {
			if equalJSON(x, pattern, false) {
				return true
			}
		}
		return false
	}
	return equalJSON(v, pattern, false)
}

// bounds checks minValue[x] and maxValue[x].
func (r *run) bounds(v *jvalue, el *Element, path pathID) {
	check := func(bound *TypedValue, below bool) {
		if bound == nil {
			return
		}
		want := bound.parsed()
		if bound.Type == "Duration" && v.kind == kString {
			// A duration bounds a date from now: the minimum lies that far in
			// the past, the maximum that far in the future.
			limit, ok := fromNow(want, below)
			if !ok {
				return
			}
			want = &jvalue{kind: kString, str: limit}
		}
		c, ok := compareBound(v, want)
		if !ok {
			return
		}
		if below && c < 0 {
			r.add(outcome.ErrorLevel, outcome.Value, path, "minValue",
				"The value in the instance (%s) is less than the specified minimum value (%s)", display(v), display(want))
		}
		if !below && c > 0 {
			r.add(outcome.ErrorLevel, outcome.Value, path, "maxValue",
				"The value in the instance (%s) is greater than the specified maximum value (%s)", display(v), display(want))
		}
	}
	check(el.MinValue, true)
	check(el.MaxValue, false)
}

func display(v *jvalue) string {
	if v.kind == kObject {
		s := v.get("value").strOr("?")
		if u := v.get("code"); u != nil {
			s += " " + u.str
		}
		return s
	}
	return v.str
}

func (v *jvalue) strOr(def string) string {
	if v == nil {
		return def
	}
	return v.str
}

// compareBound compares a value with a bound of the same kind; ok is false
// when they cannot be compared.
func compareBound(v, bound *jvalue) (int, bool) {
	switch {
	case v.kind == kNumber && bound.kind == kNumber:
		return compareNumbers(v.str, bound.str)
	case v.kind == kString && bound.kind == kString:
		if len(v.str) >= 10 && len(bound.str) >= 10 {
			return strings.Compare(v.str[:10], bound.str[:10]), true
		}
		return strings.Compare(v.str, bound.str), true
	case v.kind == kObject && bound.kind == kObject:
		a, b := v.get("value"), bound.get("value")
		if a == nil || b == nil {
			return 0, false
		}
		x, err1 := strconv.ParseFloat(a.str, 64)
		y, err2 := strconv.ParseFloat(b.str, 64)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		fx, okx := ucumFactor(v.get("code").strOr(""))
		fy, oky := ucumFactor(bound.get("code").strOr(""))
		if okx && oky && fx.dim == fy.dim {
			x, y = x*fx.f, y*fy.f
		} else if v.get("code").strOr("") != bound.get("code").strOr("") {
			return 0, false
		}
		return cmpFloat(x, y), true
	}
	return 0, false
}

func compareNumbers(a, b string) (int, bool) {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return cmpFloat(x, y), true
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

type unit struct {
	dim string
	f   float64
}

// ucumFactor knows the few UCUM units whose comparison profiles ask for most.
func ucumFactor(code string) (unit, bool) {
	u, ok := map[string]unit{
		"g": {"mass", 1}, "kg": {"mass", 1000}, "mg": {"mass", 1e-3}, "ug": {"mass", 1e-6},
		"m": {"length", 1}, "cm": {"length", 1e-2}, "mm": {"length", 1e-3}, "km": {"length", 1e3},
		"s": {"time", 1}, "min": {"time", 60}, "h": {"time", 3600}, "d": {"time", 86400},
		"L": {"volume", 1}, "mL": {"volume", 1e-3}, "dL": {"volume", 1e-1},
	}[code]
	return u, ok
}

// now is the clock bounds by duration read; tests may set it.
var now = time.Now

// fromNow is the date a Duration away from today: back for a minimum,
// forward for a maximum.
func fromNow(d *jvalue, back bool) (string, bool) {
	v, err := strconv.ParseFloat(d.get("value").strOr(""), 64)
	if err != nil {
		return "", false
	}
	if back {
		v = -v
	}
	t := now().UTC()
	n := int(v)
	switch d.get("code").strOr(d.get("unit").strOr("")) {
	case "a":
		t = t.AddDate(n, 0, 0)
	case "mo":
		t = t.AddDate(0, n, 0)
	case "wk":
		t = t.AddDate(0, 0, 7*n)
	case "d":
		t = t.AddDate(0, 0, n)
	case "h":
		t = t.Add(time.Duration(v * float64(time.Hour)))
	case "min":
		t = t.Add(time.Duration(v * float64(time.Minute)))
	case "s":
		t = t.Add(time.Duration(v * float64(time.Second)))
	default:
		return "", false
	}
	return t.Format("2006-01-02T15:04:05Z"), true
}
