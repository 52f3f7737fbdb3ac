package search

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/searchparam"
)

// value reads one alternative of a filter according to its type.
func (p *parser) value(f *Filter, mod, s string) (Value, error) {
	v := Value{Raw: s, Prefix: EQ}
	if s == "" {
		return v, badRequest(f.Name, "empty value")
	}
	var err error
	switch f.Param.Type {
	case searchparam.String:
		v.Str = unescape(s)
		if f.Modifier != Exact {
			v.Str = searchparam.Normalize(v.Str)
		}
	case searchparam.URI:
		v.Str = unescape(s)
	case searchparam.Token:
		err = p.token(f, s, &v)
	case searchparam.Reference:
		err = p.reference(f, mod, s, &v)
	case searchparam.Date:
		err = p.date(f, s, &v)
	case searchparam.Number:
		err = p.number(f, s, &v)
	case searchparam.Quantity:
		err = p.quantity(f, s, &v)
	case searchparam.Composite:
		err = p.composite(f, s, &v)
	default:
		err = outcome.New(outcome.Incorrect, outcome.NotSupported, "%s parameters are not supported", f.Param.Type).At(f.Name)
	}
	return v, err
}

func (p *parser) token(f *Filter, s string, v *Value) error {
	switch f.Modifier {
	case Text:
		v.Str = searchparam.Normalize(unescape(s))
		return nil
	case OfType:
		parts := splitEscaped(s, '|')
		if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
			return badRequest(f.Name, ":of-type takes type-system|type-code|value, not %q", s)
		}
		v.TypeSystem, v.TypeCode, v.Code = unescape(parts[0]), unescape(parts[1]), unescape(parts[2])
		return nil
	}
	parts := splitEscaped(s, '|')
	switch len(parts) {
	case 1:
		v.Code = unescape(parts[0])
	case 2:
		v.System, v.Code, v.HasSystem = unescape(parts[0]), unescape(parts[1]), true
		if v.System == "" && v.Code == "" {
			return badRequest(f.Name, "token %q has neither system nor code", s)
		}
	default:
		return badRequest(f.Name, "token %q has more than one '|'", s)
	}
	return nil
}

func (p *parser) reference(f *Filter, mod, s string, v *Value) error {
	if f.Modifier == Identifier {
		t := &Filter{Name: f.Name, Param: f.Param}
		return p.token(t, s, v)
	}
	s = unescape(s)
	if p.opts.Base != "" && strings.HasPrefix(s, p.opts.Base+"/") {
		s = strings.TrimPrefix(s, p.opts.Base+"/")
	}
	if strings.Contains(s, ":") {
		v.RefURL, v.RefVersion, _ = strings.Cut(s, "|")
		return nil
	}
	segs := strings.Split(s, "/")
	if len(segs) >= 4 && segs[2] == "_history" {
		segs = segs[:2]
	}
	switch len(segs) {
	case 1:
		v.RefID = segs[0]
	case 2:
		if searchparam.ForType(segs[0]) == nil {
			return badRequest(f.Name, "%q is not a FHIR R4 resource type (in reference %q)", segs[0], s)
		}
		v.RefType, v.RefID = segs[0], segs[1]
	default:
		return badRequest(f.Name, "%q is not a reference like Type/id or id", s)
	}
	if v.RefID == "" {
		return badRequest(f.Name, "reference %q has no id", s)
	}
	if f.Modifier == TypeModifier {
		if v.RefType != "" && v.RefType != mod {
			return badRequest(f.Name, "reference %q contradicts the modifier :%s", s, mod)
		}
		v.RefType = mod
	}
	return nil
}

// cutPrefix splits a leading comparator off a number, date or quantity.
func cutPrefix(name, s string) (Prefix, string, error) {
	if len(s) >= 2 && s[0] >= 'a' && s[0] <= 'z' {
		switch pr := Prefix(s[:2]); pr {
		case EQ, NE, GT, LT, GE, LE, SA, EB, AP:
			return pr, s[2:], nil
		}
		return "", "", badRequest(name, "%q does not start with a known prefix (eq ne gt lt ge le sa eb ap) or a value", s)
	}
	return EQ, s, nil
}

func (p *parser) date(f *Filter, s string, v *Value) error {
	pr, rest, err := cutPrefix(f.Name, s)
	if err != nil {
		return err
	}
	lo, hi, ok := ParseDate(rest)
	if !ok {
		return badRequest(f.Name, "%q is not a FHIR date or dateTime (like 2024, 2024-03-01 or 2024-03-01T10:00:00Z)", rest)
	}
	v.Prefix, v.Low, v.High = pr, lo, hi
	return nil
}

// ParseDate reads a FHIR date, dateTime or instant into the half-open range
// of UTC milliseconds its precision covers: 2024-03 is the whole of March.
// A time without a zone is taken as UTC.
func ParseDate(s string) (low, high int64, ok bool) {
	day, clock, hasTime := strings.Cut(s, "T")
	var err error
	switch len(day) {
	case 4:
		_, err = time.Parse("2006", day)
	case 7:
		_, err = time.Parse("2006-01", day)
	case 10:
		_, err = time.Parse("2006-01-02", day)
	default:
		return 0, 0, false
	}
	if err != nil || (hasTime && len(day) != 10) {
		return 0, 0, false
	}
	if hasTime {
		if _, _, ok = withClock(time.Time{}, clock); !ok {
			return 0, 0, false
		}
	}
	// The syntax is checked strictly above; the bounds come from the
	// function that indexes dates, so that a search and the values it is
	// matched against always agree.
	return searchparam.DateRange(s)
}

// withClock adds a time of day with an optional zone to the date d.
func withClock(d time.Time, clock string) (time.Time, func(time.Time) time.Time, bool) {
	loc := time.UTC
	switch n := len(clock); {
	case strings.HasSuffix(clock, "Z"):
		clock = clock[:n-1]
	case n > 6 && (clock[n-6] == '+' || clock[n-6] == '-'):
		z, err := time.Parse("-07:00", clock[n-6:])
		if err != nil {
			return d, nil, false
		}
		loc = z.Location()
		clock = clock[:n-6]
	}
	var unit time.Duration
	var layout string
	switch {
	case len(clock) == 5:
		layout, unit = "15:04", time.Minute
	case len(clock) == 8:
		layout, unit = "15:04:05", time.Second
	case len(clock) > 9 && clock[8] == '.':
		layout, unit = "15:04:05."+strings.Repeat("9", len(clock)-9), time.Millisecond
	default:
		return d, nil, false
	}
	c, err := time.Parse(layout, clock)
	if err != nil {
		return d, nil, false
	}
	t := time.Date(d.Year(), d.Month(), d.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), loc)
	return t, func(t time.Time) time.Time { return t.Add(unit) }, true
}

func (p *parser) number(f *Filter, s string, v *Value) error {
	pr, rest, err := cutPrefix(f.Name, s)
	if err != nil {
		return err
	}
	n, lo, hi, ok := ParseNumber(rest)
	if !ok {
		return badRequest(f.Name, "%q is not a decimal number", rest)
	}
	v.Prefix, v.Number, v.NumLow, v.NumHigh = pr, n, lo, hi
	return nil
}

// ParseNumber reads a FHIR decimal and the range [low, high) its written
// precision implies: 100 is [99.5, 100.5), 100.0 is [99.95, 100.05) and 1e2
// is [50, 150).
func ParseNumber(s string) (v, low, high float64, ok bool) {
	mant := s
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > 300 || e < -300 {
			return 0, 0, 0, false
		}
		mant = s[:i]
	}
	digits := strings.TrimLeft(mant, "+-")
	intPart, frac, _ := strings.Cut(digits, ".")
	if len(mant)-len(digits) > 1 || intPart == "" || !allDigits(intPart) || !allDigits(frac) ||
		(strings.Contains(digits, ".") && frac == "") {
		return 0, 0, 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, 0, 0, false
	}
	// The bounds come from the function that indexes numbers, so that a
	// search and the values it is matched against always agree.
	low, high, ok = searchparam.DecimalRange(s)
	return v, low, high, ok
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (p *parser) quantity(f *Filter, s string, v *Value) error {
	parts := splitEscaped(s, '|')
	if len(parts) != 1 && len(parts) != 3 {
		return badRequest(f.Name, "a quantity is number, or number|system|code, not %q", s)
	}
	if err := p.number(f, parts[0], v); err != nil {
		return err
	}
	if len(parts) == 3 {
		v.System, v.Code = unescape(parts[1]), unescape(parts[2])
		v.HasSystem = v.System != ""
	}
	return nil
}

func (p *parser) composite(f *Filter, s string, v *Value) error {
	parts := splitEscaped(s, '$')
	comps := f.Param.Components
	if len(parts) != len(comps) {
		return badRequest(f.Name, "%s takes %d values joined by '$', not %q", f.Param.Code, len(comps), s)
	}
	for i, c := range comps {
		cf := &Filter{Name: f.Name, Param: &searchparam.Param{Code: c.Code, Type: c.Type}}
		cv, err := p.value(cf, "", parts[i])
		if err != nil {
			return err
		}
		v.Components = append(v.Components, cv)
	}
	return nil
}

// sort reads _sort.
func (p *parser) sort(q *Query, key string, vals []string) error {
	for _, v := range vals {
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			if k == "" {
				continue
			}
			desc := strings.HasPrefix(k, "-")
			code := strings.TrimPrefix(k, "-")
			sp, ok := lookup(q.Types, code)
			if !ok || sp.Type == searchparam.Composite || sp.Type == searchparam.Special {
				return badRequest(key, "cannot sort by %q: not a sortable search parameter of %s", code, strings.Join(q.Types, ", "))
			}
			q.Sort = append(q.Sort, SortKey{Param: sp, Desc: desc})
		}
	}
	return nil
}

// includes reads _include and _revinclude values: Type:param[:target],
// Type:* or *.
func (p *parser) includes(q *Query, name, mod string, vals []string) error {
	key := name
	if mod != "" {
		key += ":" + mod
	}
	if mod != "" && mod != "iterate" && mod != "recurse" {
		return badRequest(key, "%s takes only the :iterate modifier", name)
	}
	for _, v := range vals {
		inc := Include{Iterate: mod != ""}
		if v != "*" {
			parts := strings.Split(v, ":")
			if len(parts) < 2 || len(parts) > 3 {
				return badRequest(key, "%q is not Type:parameter[:targetType]", v)
			}
			if searchparam.ForType(parts[0]) == nil {
				return badRequest(key, "%q is not a FHIR R4 resource type", parts[0])
			}
			inc.SourceType = parts[0]
			if parts[1] != "*" {
				sp, ok := searchparam.Lookup(parts[0], parts[1])
				if !ok || sp.Type != searchparam.Reference {
					return badRequest(key, "%q is not a reference parameter of %s", parts[1], parts[0])
				}
				inc.Param = sp
			}
			if len(parts) == 3 {
				if inc.Param != nil && len(inc.Param.Targets) > 0 && !slices.Contains(inc.Param.Targets, parts[2]) {
					return badRequest(key, "%s.%s cannot refer to %s", parts[0], parts[1], outcome.Article(parts[2]))
				}
				inc.TargetType = parts[2]
			}
		}
		if name == "_include" {
			q.Include = append(q.Include, inc)
		} else {
			q.RevInclude = append(q.RevInclude, inc)
		}
	}
	return nil
}
