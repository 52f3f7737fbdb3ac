package profile

import (
	"strings"
	"sync"

	"hpsandbox/fhirstore/outcome"
)

// sliced validates the occurrences of a sliced element: each goes to the
// first slice whose discriminators it matches, the slices' cardinalities are
// checked, and the slicing rules (closed, openAtEnd, ordered) enforced.
func (r *run) sliced(items []item, paths []pathID, base pathID, k *node, strict bool, ctx *resourceCtx) {
	discs, rules, ordered := slicingOf(k)
	slot := make([]int, len(items))
	counts := make([]int, len(k.slices))
	for i, it := range items {
		slot[i] = -1
		for si, s := range k.slices {
			if r.matches(it, s, discs, ctx) {
				slot[i] = si
				counts[si]++
				break
			}
		}
	}
	for si, s := range k.slices {
		name := k.el.Path + ":" + s.el.SliceName
		if min := s.el.MinCount(); counts[si] < min {
			if counts[si] == 0 {
				r.add(outcome.ErrorLevel, outcome.Structure, base, s.el.SliceName,
					"Slice '%s': a matching slice is required, but not found", name)
			} else {
				r.add(outcome.ErrorLevel, outcome.Structure, base, s.el.SliceName,
					"%s: minimum required = %d, but only found %d", name, min, counts[si])
			}
		}
		if max := s.el.MaxCount(); max >= 0 && counts[si] > max {
			r.add(outcome.ErrorLevel, outcome.Structure, base, s.el.SliceName,
				"%s: max allowed = %d, but found %d", name, max, counts[si])
		}
	}
	last, seenOpen := -1, false
	for i, it := range items {
		si := slot[i]
		switch {
		case si < 0 && rules == "closed":
			r.add(outcome.ErrorLevel, outcome.Structure, paths[i], "slicing",
				"This element does not match any known slice of %s, and the slicing is closed", k.el.Path)
		case si < 0:
			seenOpen = true
		case rules == "openAtEnd" && seenOpen:
			r.add(outcome.ErrorLevel, outcome.Structure, paths[i], k.slices[si].el.SliceName,
				"This element matches slice %s after an element that matches none, but the slicing is open at the end only", k.slices[si].el.SliceName)
		}
		if si >= 0 && ordered && si < last {
			r.add(outcome.ErrorLevel, outcome.Structure, paths[i], k.slices[si].el.SliceName,
				"This element matches slice %s, out of the order the ordered slicing of %s requires", k.slices[si].el.SliceName, k.el.Path)
		}
		if si > last {
			last = si
		}
		if si >= 0 {
			r.occurrence(it, k.slices[si], paths[i], strict, ctx)
		} else {
			r.occurrence(it, k, paths[i], strict, ctx)
		}
	}
}

// slicingOf returns a sliced element's discriminators and rules; slices of a
// choice without a slicing definition are slices by type.
func slicingOf(k *node) ([]Discriminator, string, bool) {
	if s := k.el.Slicing; s != nil {
		rules := s.Rules
		if rules == "" {
			rules = "open"
		}
		discs := s.Discriminator
		if len(discs) == 0 && k.choicePrefix() != "" {
			discs = []Discriminator{{Type: "type", Path: "$this"}}
		}
		return discs, rules, s.Ordered
	}
	if k.choicePrefix() != "" {
		return []Discriminator{{Type: "type", Path: "$this"}}, "open", false
	}
	return nil, "open", false
}

// matches reports whether an occurrence matches a slice's discriminators.
func (r *run) matches(it item, s *node, discs []Discriminator, ctx *resourceCtx) bool {
	if len(discs) == 0 {
		// Without discriminators a slice is recognised by conforming to it.
		return r.conforms(it, s, ctx)
	}
	for _, d := range discs {
		if !r.discriminator(it, s, d, ctx) {
			return false
		}
	}
	return true
}

func (r *run) discriminator(it item, s *node, d Discriminator, ctx *resourceCtx) bool {
	defs := r.defsAt(s, d.Path)
	values := r.valuesAt(it, d.Path, ctx)
	switch d.Type {
	case "value", "pattern":
		def, ok := valueDef(defs)
		if !ok {
			return true
		}
		switch {
		case def.want != "":
			for _, v := range values {
				if v.v != nil && v.v.kind == kString && v.v.str == def.want {
					return true
				}
			}
			return false
		case def.n.el.Fixed != nil:
			for _, v := range values {
				if equalJSON(def.n.el.Fixed.parsed(), v.v, true) {
					return true
				}
			}
			return false
		case def.n.el.Pattern != nil:
			for _, v := range values {
				if containsJSON(v.v, def.n.el.Pattern.parsed()) {
					return true
				}
			}
			return false
		case def.n.el.Binding != nil && def.n.el.Binding.Strength == "required":
			x := r.d.valueSet(def.n.el.Binding.ValueSet)
			for _, v := range values {
				if x == nil || v.v == nil {
					continue
				}
				list, _ := codes(v.v, v.typ)
				for _, c := range list {
					if inValueSet(x, c) == yes {
						return true
					}
				}
			}
			return false
		}
		return true
	case "exists":
		if len(defs) == 0 {
			return true
		}
		el := defs[0].n.el
		if el.MinCount() > 0 {
			return len(values) > 0
		}
		if el.MaxCount() == 0 {
			return len(values) == 0
		}
		return true
	case "type":
		if len(defs) == 0 || len(values) == 0 {
			return len(values) == 0 && len(defs) == 0
		}
		for _, v := range values {
			for _, code := range typeCodes(defs[0].n) {
				if code == v.typ || (v.v != nil && v.v.get("resourceType").strOr("") == code) {
					return true
				}
			}
		}
		return false
	case "profile":
		if len(defs) == 0 {
			return true
		}
		for _, v := range values {
			for _, t := range defs[0].n.el.Type {
				for _, p := range t.Profile {
					c, err := r.d.compile(p)
					if err == nil && r.conforms(v, c.root, ctx) {
						return true
					}
				}
			}
		}
		return false
	}
	return true
}

// typeCodes are the types a definition allows; the root of a resource's
// definition (reached through resolve()) is of its resource type.
func typeCodes(n *node) []string {
	if len(n.el.Type) == 0 && n.parent == nil {
		return []string{n.el.Path}
	}
	codes := make([]string, 0, len(n.el.Type))
	for _, t := range n.el.Type {
		codes = append(codes, t.Code)
	}
	return codes
}

// valueDef is the first definition on a discriminator path that states a
// value: a url an extension profile fixes, a fixed or pattern value, or a
// required binding.
func valueDef(defs []defAt) (defAt, bool) {
	for _, d := range defs {
		el := d.n.el
		if d.want != "" || el.Fixed != nil || el.Pattern != nil || (el.Binding != nil && el.Binding.Strength == "required") {
			return d, true
		}
	}
	return defAt{}, false
}

// conforms runs a quiet profile pass and reports whether it found no error.
func (r *run) conforms(it item, n *node, ctx *resourceCtx) bool {
	if r.depth > 8 || it.v == nil {
		return false
	}
	sub := newRun(r.d, r.depth+1)
	defer sub.release()
	if rt := it.v.get("resourceType"); rt != nil && n.parent == nil {
		if t := n.el.Path; t != rt.str && t != "Resource" && t != "DomainResource" {
			return false
		}
		c := &resourceCtx{value: it.v, typ: it.v.get("resourceType").str, parent: ctx}
		sub.occurrence(it, n, sub.root("x"), false, c)
	} else {
		sub.occurrence(it, n, sub.root("x"), false, ctx)
	}
	return !HasErrors(sub.issues)
}

// defAt is a definition reached by a discriminator path in a slice, and for
// an extension slice's url the url its profile fixes.
type defAt struct {
	n    *node
	want string
}

type defKey struct {
	n    *node
	path string
}

// defsAt follows a discriminator path through a slice's definitions; the
// answer depends only on the definitions, and is kept.
func (r *run) defsAt(s *node, path string) []defAt {
	key := defKey{s, path}
	if v, ok := r.d.defCache.Load(key); ok {
		return v.([]defAt)
	}
	out := r.walkDefs(s, path)
	r.d.defCache.Store(key, out)
	return out
}

func (r *run) walkDefs(s *node, path string) []defAt {
	cur := []defAt{{n: s}}
	for _, seg := range pathSegments(path) {
		var next []defAt
		for _, d := range cur {
			next = append(next, r.defStep(d.n, seg)...)
		}
		cur = next
		if len(cur) == 0 {
			return nil
		}
	}
	return cur
}

func (r *run) defStep(n *node, seg string) []defAt {
	switch {
	case seg == "$this" || seg == "resolve()" || strings.HasPrefix(seg, "ofType("):
		if seg == "resolve()" {
			var out []defAt
			for _, t := range n.el.Type {
				for _, p := range t.TargetProfile {
					if c, err := r.d.compile(p); err == nil {
						out = append(out, defAt{n: c.root})
					}
				}
			}
			return out
		}
		return []defAt{{n: n}}
	case strings.HasPrefix(seg, "extension("):
		url := strings.Trim(seg[len("extension("):len(seg)-1], `'"`)
		for _, k := range r.kidsOf(n) {
			if k.name != "extension" {
				continue
			}
			for _, sl := range k.slices {
				for _, t := range sl.el.Type {
					for _, p := range t.Profile {
						if p == url {
							return []defAt{{n: sl}}
						}
					}
				}
			}
			if c, err := r.d.compile(url); err == nil {
				return []defAt{{n: c.root}}
			}
		}
		return nil
	}
	if seg == "url" {
		for _, t := range n.el.Type {
			if t.Code == "Extension" && len(t.Profile) > 0 {
				return []defAt{{n: n, want: t.Profile[0]}}
			}
		}
	}
	for _, k := range r.kidsOf(n) {
		if k.name == seg || k.choicePrefix() == seg {
			// The value may be fixed on the element or on its slices
			// (component.code.coding:SBPCode.code).
			out := []defAt{{n: k}}
			for _, sl := range k.slices {
				out = append(out, defAt{n: sl})
			}
			return out
		}
	}
	return nil
}

// kidsOf are a node's children, or those of its type's profile when the
// slice does not spell them out.
func (r *run) kidsOf(n *node) []*node {
	if kids := n.kids(); len(kids) > 0 {
		return kids
	}
	for _, t := range n.el.Type {
		for _, p := range t.Profile {
			if c, err := r.d.compile(p); err == nil {
				return c.root.kids()
			}
		}
	}
	return nil
}

// valuesAt follows a discriminator path through an occurrence.
func (r *run) valuesAt(it item, path string, ctx *resourceCtx) []item {
	cur := []item{it}
	for _, seg := range pathSegments(path) {
		var next []item
		for _, x := range cur {
			if x.v == nil {
				continue
			}
			switch {
			case seg == "$this" || strings.HasPrefix(seg, "ofType("):
				next = append(next, x)
			case seg == "resolve()":
				if ref := x.v.get("reference"); ref != nil && ctx != nil {
					if res := ctx.resolve(ref.str); res != nil {
						next = append(next, item{v: res, typ: res.get("resourceType").strOr("")})
					}
				}
			case strings.HasPrefix(seg, "extension("):
				url := strings.Trim(seg[len("extension("):len(seg)-1], `'"`)
				for _, e := range x.v.get("extension").list() {
					if e.get("url").strOr("") == url {
						next = append(next, item{v: e, typ: "Extension"})
					}
				}
			default:
				if v := x.v.get(seg); v != nil {
					for _, e := range v.list() {
						next = append(next, item{v: e})
					}
					continue
				}
				for _, f := range x.v.fields {
					if strings.HasPrefix(f.name, seg) && len(f.name) > len(seg) && f.name[len(seg)] >= 'A' && f.name[len(seg)] <= 'Z' {
						typ := f.name[len(seg):]
						if isPrimitiveName(typ) {
							typ = strings.ToLower(typ[:1]) + typ[1:]
						}
						for _, e := range f.val.list() {
							next = append(next, item{v: e, typ: typ})
						}
					}
				}
			}
		}
		cur = next
	}
	return cur
}

func isPrimitiveName(suffix string) bool {
	switch suffix {
	case "Boolean", "Integer", "String", "Decimal", "Uri", "Url", "Canonical", "Base64Binary", "Instant",
		"Date", "DateTime", "Time", "Code", "Oid", "Id", "Markdown", "UnsignedInt", "PositiveInt", "Uuid":
		return true
	}
	return false
}

var segmentCache sync.Map // path → []string

// pathSegments splits a FHIRPath of a discriminator at the dots outside
// parentheses and quotes. The few paths of the definitions are kept split.
func pathSegments(path string) []string {
	if v, ok := segmentCache.Load(path); ok {
		return v.([]string)
	}
	out := splitPath(path)
	segmentCache.Store(path, out)
	return out
}

func splitPath(path string) []string {
	var out []string
	depth, quote, start := 0, byte(0), 0
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '.' && depth == 0:
			out = append(out, path[start:i])
			start = i + 1
		}
	}
	return append(out, path[start:])
}
