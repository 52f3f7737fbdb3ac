package search

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/searchparam"
)

// Options bound and qualify parsing.
type Options struct {
	// Base is the absolute URL of this server's FHIR base; references to
	// it are taken as local.
	Base string
	// DefaultCount is the page size without _count; MaxCount caps _count.
	DefaultCount, MaxCount int
}

// maxChain bounds the links of a chain or _has nesting.
const maxChain = 4

// refused are parameters the server does not offer and says so, whatever
// the handling preference: ignoring them would return wrong results quietly.
var refused = map[string]string{
	"_text":          "full-text search (_text) is not supported",
	"_content":       "full-text search (_content) is not supported",
	"_query":         "named queries (_query) are not supported",
	"_filter":        "the _filter parameter is not supported",
	"_list":          "searching by list (_list) is not supported",
	"_containedType": "searching contained resources is not supported",
	"_contained":     "searching contained resources is not supported",
}

// silent are parameters of the request, not of the search.
var silent = map[string]bool{"_format": true, "_pretty": true}

// Parse reads the parameters of a search of resourceType, or of a system
// search when resourceType is empty (then _type chooses the types).
func Parse(resourceType string, params url.Values, opts Options) (*Query, error) {
	if opts.MaxCount <= 0 {
		opts.MaxCount = 1000
	}
	if opts.DefaultCount <= 0 {
		opts.DefaultCount = min(50, opts.MaxCount)
	}
	q := &Query{Count: opts.DefaultCount}
	p := &parser{opts: opts}
	if resourceType != "" {
		q.Types = []string{resourceType}
	} else if err := p.types(q, params["_type"]); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := p.param(q, k, params[k]); err != nil {
			return nil, err
		}
		if len(q.Filters) > MaxParameters {
			break // refused below, without reading the rest
		}
	}
	dedupe(q)
	if err := checkLimits(q); err != nil {
		return nil, err
	}
	return q, nil
}

type parser struct{ opts Options }

func badRequest(param, format string, args ...any) *outcome.Error {
	return outcome.New(outcome.Incorrect, outcome.Value, format, args...).At(param)
}

func (p *parser) types(q *Query, raw []string) error {
	for _, v := range raw {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if searchparam.ForType(t) == nil {
				return badRequest("_type", "%q is not a FHIR R4 resource type", t)
			}
			if !slices.Contains(q.Types, t) {
				q.Types = append(q.Types, t)
			}
		}
	}
	return nil
}

// param reads every occurrence of one parameter.
func (p *parser) param(q *Query, key string, vals []string) error {
	name, mod, _ := strings.Cut(key, ":")
	if msg, ok := refused[name]; ok {
		return outcome.New(outcome.Incorrect, outcome.NotSupported, "%s", msg).At(key)
	}
	if silent[key] {
		return nil
	}
	last := vals[len(vals)-1]
	switch name {
	case "_type":
		return nil // read by Parse for a system search
	case "_count":
		n, err := strconv.Atoi(last)
		if err != nil || n < 0 || mod != "" {
			return badRequest(key, "_count must be a non-negative integer, not %q", last)
		}
		q.Count = min(n, p.opts.MaxCount)
		return nil
	case "_offset":
		n, err := strconv.Atoi(last)
		if err != nil || n < 0 {
			return badRequest(key, "_offset must be a non-negative integer, not %q", last)
		}
		q.Offset = n
		return nil
	case "_cursor":
		q.Cursor = last
		return nil
	case "_total":
		switch TotalMode(last) {
		case TotalNone, TotalEstimate, TotalAccurate:
			q.Total = TotalMode(last)
			return nil
		}
		return badRequest(key, "_total must be none, estimate or accurate, not %q", last)
	case "_summary":
		switch last {
		case "false":
			q.Summary = SummaryNone
		case "true", "count", "data", "text":
			q.Summary = Summary(last)
		default:
			return badRequest(key, "_summary must be true, false, count, data or text, not %q", last)
		}
		return nil
	case "_elements":
		for _, v := range vals {
			for _, e := range strings.Split(v, ",") {
				if e = strings.TrimSpace(e); e != "" {
					q.Elements = append(q.Elements, e)
				}
			}
		}
		return nil
	case "_sort":
		return p.sort(q, key, vals)
	case "_include", "_revinclude":
		return p.includes(q, name, mod, vals)
	}
	for i, v := range vals {
		if len(q.Filters) > MaxParameters {
			return nil // refused by Parse
		}
		if slices.Contains(vals[:i], v) {
			continue // the same parameter and value again
		}
		f, ignored, err := p.filter(q.Types, key, v, 0)
		if err != nil {
			return err
		}
		if ignored {
			q.Ignored = append(q.Ignored, key)
			return nil
		}
		q.Filters = append(q.Filters, f)
	}
	return nil
}

// lookup finds the parameter code for every type; with no types (a search
// of all types) only the parameters every resource has.
func lookup(types []string, code string) (*searchparam.Param, bool) {
	if len(types) == 0 {
		if !strings.HasPrefix(code, "_") {
			return nil, false
		}
		types = []string{"Patient"}
	}
	var first *searchparam.Param
	for _, t := range types {
		sp, ok := searchparam.Lookup(t, code)
		if !ok || (first != nil && sp.Type != first.Type) {
			return nil, false
		}
		if first == nil {
			first = sp
		}
	}
	return first, true
}

// filter reads one occurrence of a parameter; ignored reports a parameter
// unknown for types.
func (p *parser) filter(types []string, key, raw string, depth int) (f *Filter, ignored bool, err error) {
	if depth > maxChain {
		return nil, false, badRequest(key, "chains are limited to %d links", maxChain)
	}
	if strings.HasPrefix(key, "_has:") {
		return p.has(types, key, raw, depth)
	}
	head, rest, chained := strings.Cut(key, ".")
	code, mod, _ := strings.Cut(head, ":")
	sp, ok := lookup(types, code)
	if !ok || sp.Type == searchparam.Special {
		return nil, true, nil
	}
	f = &Filter{Name: key, Param: sp}
	if chained {
		c, err := p.chain(sp, key, mod, rest, raw, depth)
		if err != nil {
			return nil, false, err
		}
		f.Chain = c
		return f, false, nil
	}
	if err := p.modifier(f, mod); err != nil {
		return nil, false, err
	}
	if f.Modifier == Missing {
		switch raw {
		case "true", "false":
			f.Values = []Value{{Raw: raw, Missing: raw == "true"}}
			return f, false, nil
		}
		return nil, false, badRequest(key, ":missing takes true or false, not %q", raw)
	}
	parts := splitEscaped(raw, ',')
	for _, part := range parts {
		v, err := p.value(f, mod, part)
		if err != nil {
			return nil, false, err
		}
		f.Values = append(f.Values, v)
	}
	if len(f.Values) == 0 {
		return nil, false, badRequest(key, "the parameter has no value")
	}
	return f, false, nil
}

// modifier checks that mod applies to the filter's parameter type.
func (p *parser) modifier(f *Filter, mod string) error {
	if mod == "" {
		return nil
	}
	m := Modifier(mod)
	ok := m == Missing
	switch f.Param.Type {
	case searchparam.String:
		ok = ok || m == Exact || m == Contains
	case searchparam.Token:
		ok = ok || m == Not || m == Text || m == OfType
	case searchparam.URI:
		ok = ok || m == Below || m == Above
	case searchparam.Reference:
		if m == Identifier || m == Missing {
			ok = true
		} else if slices.Contains(f.Param.Targets, mod) || (len(f.Param.Targets) == 0 && searchparam.ForType(mod) != nil) {
			f.Modifier = TypeModifier
			return nil
		}
	}
	if !ok {
		return outcome.New(outcome.Incorrect, outcome.NotSupported,
			"modifier :%s is not supported on %s parameter %s", mod, f.Param.Type, f.Param.Code).At(f.Name)
	}
	f.Modifier = m
	return nil
}

// chain reads the rest of a chained reference parameter.
func (p *parser) chain(sp *searchparam.Param, key, mod, rest, raw string, depth int) (*Chain, error) {
	if sp.Type != searchparam.Reference {
		return nil, badRequest(key, "%s is a %s parameter and cannot be chained", sp.Code, sp.Type)
	}
	next, _, _ := strings.Cut(rest, ".")
	next, _, _ = strings.Cut(next, ":")
	var targets []string
	if mod != "" {
		if !slices.Contains(sp.Targets, mod) {
			return nil, badRequest(key, "%s cannot refer to %s", sp.Code, outcome.Article(mod))
		}
		targets = []string{mod}
	} else {
		for _, t := range sp.Targets {
			if _, ok := searchparam.Lookup(t, next); ok {
				targets = append(targets, t)
			}
		}
	}
	if len(targets) == 0 {
		return nil, badRequest(key, "no type that %s refers to has a search parameter %q", sp.Code, next)
	}
	inner, ignored, err := p.filter(targets, rest, raw, depth+1)
	if err != nil {
		return nil, err
	}
	if ignored {
		return nil, badRequest(key, "%q is not a search parameter of %s (in a chain)", next, strings.Join(targets, ", "))
	}
	return &Chain{Types: targets, Filter: inner}, nil
}

// has reads _has:Type:param:rest.
func (p *parser) has(types []string, key, raw string, depth int) (*Filter, bool, error) {
	parts := strings.SplitN(strings.TrimPrefix(key, "_has:"), ":", 3)
	if len(parts) != 3 || parts[2] == "" {
		return nil, false, badRequest(key, "_has takes the form _has:Type:reference:parameter")
	}
	typ, ref, rest := parts[0], parts[1], parts[2]
	if searchparam.ForType(typ) == nil {
		return nil, false, badRequest(key, "%q is not a FHIR R4 resource type", typ)
	}
	sp, ok := searchparam.Lookup(typ, ref)
	if !ok || sp.Type != searchparam.Reference {
		return nil, false, badRequest(key, "%q is not a reference parameter of %s", ref, typ)
	}
	if len(types) > 0 && len(sp.Targets) > 0 {
		fits := false
		for _, t := range types {
			fits = fits || slices.Contains(sp.Targets, t)
		}
		if !fits {
			return nil, false, badRequest(key, "%s.%s cannot refer to %s", typ, ref, outcome.Article(strings.Join(types, " or ")))
		}
	}
	inner, ignored, err := p.filter([]string{typ}, rest, raw, depth+1)
	if err != nil {
		return nil, false, err
	}
	if ignored {
		return nil, false, badRequest(key, "%q is not a search parameter of %s (in _has)", rest, typ)
	}
	return &Filter{Name: key, Has: &Has{Type: typ, Param: sp, Filter: inner}}, false, nil
}

// splitEscaped splits s at each sep not escaped by a backslash; the parts
// keep their escapes.
func splitEscaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescape removes the backslash escapes of \, \| \$ and \\.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
