package searchparam

import (
	"errors"
	"strings"
)

// A fastPath is a search expression that is a plain walk over the resource's
// JSON: fields, choice types, and the two filters the specification uses
// (`where(resolve() is T)` and `where(field='literal')`). Most search
// expressions have this form; walking decoded JSON directly is some tens of
// times faster than a general FHIRPath evaluation.
type fastPath struct {
	root  string // leading resource type, or "" when relative to the context node
	steps []step
}

type stepKind uint8

const (
	stepField   stepKind = iota + 1
	stepResolve          // where(resolve() is name)
	stepEquals           // where(name = 'value')
)

type step struct {
	kind  stepKind
	name  string
	typ   string // for stepField: the choice type chosen by as(T) or ofType(T), "" for any
	value string
}

var errNotFast = errors.New("searchparam: not a plain path")

// parseFast parses one part of a union expression, or returns errNotFast.
func parseFast(s string) (fastPath, error) {
	s = strings.TrimSpace(s)
	if inner, typ, ok := cutTrailingAs(s); ok {
		p, err := parseFast(inner)
		if err != nil {
			return p, err
		}
		return p, p.applyType(typ)
	}
	var p fastPath
	rest := s
	if strings.HasPrefix(s, "(") {
		end := matchParen(s, 0)
		if end < 0 {
			return p, errNotFast
		}
		inner, err := parseFast(s[1:end])
		if err != nil {
			return p, err
		}
		p, rest = inner, s[end+1:]
	} else {
		name, after := ident(s)
		if name == "" {
			return p, errNotFast
		}
		if isUpper(name[0]) {
			p.root = name
		} else {
			p.steps = append(p.steps, step{kind: stepField, name: name})
		}
		rest = after
	}
	for rest != "" {
		if rest[0] != '.' {
			return p, errNotFast
		}
		name, after := ident(rest[1:])
		if name == "" {
			return p, errNotFast
		}
		rest = after
		if !strings.HasPrefix(rest, "(") {
			p.steps = append(p.steps, step{kind: stepField, name: name})
			continue
		}
		end := matchParen(rest, 0)
		if end < 0 {
			return p, errNotFast
		}
		arg := strings.TrimSpace(rest[1:end])
		rest = rest[end+1:]
		if err := p.applyFunc(name, arg); err != nil {
			return p, err
		}
	}
	return p, nil
}

func (p *fastPath) applyFunc(name, arg string) error {
	switch name {
	case "as", "ofType":
		return p.applyType(arg)
	case "where":
		if t, ok := strings.CutPrefix(arg, "resolve() is "); ok && isIdent(t) {
			p.steps = append(p.steps, step{kind: stepResolve, name: t})
			return nil
		}
		field, lit, ok := strings.Cut(arg, "=")
		field, lit = strings.TrimSpace(field), strings.TrimSpace(lit)
		if ok && isIdent(field) && len(lit) >= 2 && lit[0] == '\'' && lit[len(lit)-1] == '\'' &&
			!strings.ContainsAny(lit[1:len(lit)-1], `'\`) {
			p.steps = append(p.steps, step{kind: stepEquals, name: field, value: lit[1 : len(lit)-1]})
			return nil
		}
	}
	return errNotFast
}

// applyType narrows the last field step to one choice type: `value as Quantity`
// reads the JSON key valueQuantity.
func (p *fastPath) applyType(typ string) error {
	n := len(p.steps)
	if !isIdent(typ) || n == 0 || p.steps[n-1].kind != stepField || p.steps[n-1].typ != "" {
		return errNotFast
	}
	p.steps[n-1].typ = typ
	return nil
}

// cutTrailingAs splits "X as T" where the operator is outside brackets.
func cutTrailingAs(s string) (string, string, bool) {
	i := strings.LastIndex(s, " as ")
	if i < 0 || strings.ContainsAny(s[i:], "()'") {
		return "", "", false
	}
	depth := 0
	for _, ch := range s[:i] {
		switch ch {
		case '(':
			depth++
		case ')':
			depth--
		}
	}
	if depth != 0 {
		return "", "", false
	}
	return s[:i], strings.TrimSpace(s[i+4:]), true
}

// matchParen returns the index of the bracket closing the one at s[open], or -1.
func matchParen(s string, open int) int {
	depth := 0
	inQuote := false
	for i := open; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\'':
			inQuote = !inQuote
		case inQuote:
		case ch == '(':
			depth++
		case ch == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func ident(s string) (string, string) {
	i := 0
	for i < len(s) && (isUpper(s[i]) || s[i] >= 'a' && s[i] <= 'z' || i > 0 && s[i] >= '0' && s[i] <= '9') {
		i++
	}
	return s[:i], s[i:]
}

func isIdent(s string) bool {
	name, rest := ident(s)
	return name != "" && rest == ""
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// eval walks the path from a resource (root set) or from a context element,
// appending the values found to out. JSON arrays are flattened, as FHIRPath
// does. scratch is reused between calls to save allocations.
func (p fastPath) eval(resourceType string, node any, out []any, scratch *[2][]any) []any {
	if p.root != "" && p.root != resourceType {
		return out
	}
	cur := append(scratch[0][:0], node)
	next := scratch[1][:0]
	for _, st := range p.steps {
		next = next[:0]
		for _, n := range cur {
			next = st.apply(n, next)
		}
		cur, next = next, cur
		if len(cur) == 0 {
			break
		}
	}
	out = append(out, cur...)
	scratch[0], scratch[1] = cur[:0], next[:0]
	return out
}

func (st step) apply(n any, out []any) []any {
	m, ok := n.(map[string]any)
	if !ok {
		return out
	}
	switch st.kind {
	case stepField:
		if st.typ != "" {
			return appendFlat(out, m[st.name+capitalize(st.typ)])
		}
		if v, ok := m[st.name]; ok {
			return appendFlat(out, v)
		}
		// A choice element ("effective" → effectiveDateTime, effectivePeriod, …).
		for k, v := range m {
			if len(k) > len(st.name) && isUpper(k[len(st.name)]) && strings.HasPrefix(k, st.name) &&
				choiceTypes[k[len(st.name):]] {
				out = appendFlat(out, v)
			}
		}
	case stepResolve:
		if referenceType(m) == st.name {
			out = append(out, m)
		}
	case stepEquals:
		if s, _ := m[st.name].(string); s == st.value {
			out = append(out, m)
		}
	}
	return out
}

func appendFlat(out []any, v any) []any {
	switch v := v.(type) {
	case nil:
	case []any:
		for _, e := range v {
			if e != nil {
				out = append(out, e)
			}
		}
	default:
		out = append(out, v)
	}
	return out
}

func capitalize(s string) string {
	if s == "" || isUpper(s[0]) {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// choiceTypes are the data types a choice element's JSON name may end with
// (valueQuantity, effectiveDateTime); a longer name that ends otherwise is
// another element (dataAbsentReason is not a choice of "data").
var choiceTypes = map[string]bool{
	"Base64Binary": true, "Boolean": true, "Canonical": true, "Code": true, "Date": true, "DateTime": true,
	"Decimal": true, "Id": true, "Instant": true, "Integer": true, "Markdown": true, "Oid": true,
	"PositiveInt": true, "String": true, "Time": true, "UnsignedInt": true, "Uri": true, "Url": true, "Uuid": true,
	"Address": true, "Age": true, "Annotation": true, "Attachment": true, "CodeableConcept": true, "Coding": true,
	"ContactPoint": true, "Count": true, "Distance": true, "Duration": true, "HumanName": true, "Identifier": true,
	"Money": true, "Period": true, "Quantity": true, "Range": true, "Ratio": true, "Reference": true,
	"SampledData": true, "Signature": true, "Timing": true, "ContactDetail": true, "Contributor": true,
	"DataRequirement": true, "Expression": true, "ParameterDefinition": true, "RelatedArtifact": true,
	"TriggerDefinition": true, "UsageContext": true, "Dosage": true, "Meta": true,
}
