package profile

import (
	"strings"

	"hpsandbox/fhirstore/outcome"
)

// item is one occurrence of an element in a resource: its JSON value and,
// for a primitive, the "_name" object with its id and extensions.
type item struct {
	v   *jvalue
	ext *jvalue
	typ string // the FHIR type the occurrence has (the chosen one of a choice)
}

// isPrimitive reports whether a FHIR type code is a primitive type.
func isPrimitive(code string) bool {
	if code == "" {
		return false
	}
	if strings.HasPrefix(code, "System.") || strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
		return true
	}
	c := code[0]
	return c >= 'a' && c <= 'z'
}

// element validates one occurrence against the node that defines it. strict
// is the base pass, which also checks structure (unknown properties,
// primitive formats); a profile pass checks only its own rules.
func (r *run) element(v *jvalue, n *node, typ string, path pathID, strict bool, ctx *resourceCtx) {
	r.occurrence(item{v: v, typ: typ}, n, path, strict, ctx)
}

func (r *run) occurrence(it item, n *node, path pathID, strict bool, ctx *resourceCtx) {
	el := n.el
	if strict && it.v != nil && it.typ != "" && !isPrimitive(it.typ) && it.v.kind != kObject {
		r.add(outcome.ErrorLevel, outcome.Structure, path, "type",
			"The value of a %s must be a JSON object, not %s", it.typ, it.v.kind)
		return
	}
	if it.v != nil {
		r.values(it, el, path, strict, ctx)
	}
	if len(el.Constraint) > 0 && (it.v != nil || it.ext != nil) {
		r.constraints(it, el, path, strict, ctx)
	}
	if it.ext != nil && strict {
		r.primitiveExtension(it.ext, path, ctx)
	}
	v := it.v
	if v == nil || v.kind != kObject {
		return
	}
	if n.parent != nil && r.d.isResourceType(it.typ) {
		r.resource(v, path, typeProfiles(el, it.typ), strict, ctx, strict, strings.HasSuffix(el.Path, ".contained"))
		return
	}
	if kids := n.kids(); len(kids) > 0 {
		r.children(v, kids, path, strict, ctx, n.parent == nil && ctx != nil && ctx.value == v)
	} else if strict && it.typ != "" && !isPrimitive(it.typ) {
		if c, err := r.d.compile(it.typ); err == nil {
			r.constraints(item{v: v, typ: it.typ}, c.root.el, path, true, ctx)
			r.children(v, c.root.kids(), path, true, ctx, false)
		}
	}
	for _, p := range typeProfiles(el, it.typ) {
		c, err := r.d.compile(p)
		if err != nil {
			r.add(outcome.Warning, outcome.NotFound, path, "profile", "Unable to resolve the profile %s to check this element against", p)
			continue
		}
		r.occurrence(item{v: v, typ: it.typ}, c.root, path, false, ctx)
	}
	if strict && it.typ == "Extension" && len(typeProfiles(el, it.typ)) == 0 {
		r.extension(v, path, ctx)
	}
}

// extension checks an extension against its definition, found by url.
func (r *run) extension(v *jvalue, path pathID, ctx *resourceCtx) {
	u := v.get("url")
	if u == nil || u.kind != kString || !strings.Contains(u.str, "/") {
		return // a nested extension of a complex extension: its parent's definition judges it
	}
	c, err := r.d.compile(u.str)
	if err != nil {
		if hl7Space(u.str) {
			r.add(outcome.ErrorLevel, outcome.Structure, path, "extension",
				"The extension %s could not be found so is not allowed here", u.str)
		} else {
			r.add(outcome.Information, outcome.Informational, path, "extension",
				"The extension %s is not known here, so its content was not checked", u.str)
		}
		return
	}
	r.occurrence(item{v: v, typ: "Extension"}, c.root, path, false, ctx)
}

// hl7Space reports whether a URL is in the namespace of an implementation
// guide HL7 publishes, where an unknown extension is an error rather than a
// local addition. The specification's own extension space is not: HL7's
// extension pack and the cross-version extensions live there, and are not
// all held here.
func hl7Space(url string) bool {
	rest, ok := strings.CutPrefix(url, "http://hl7.org/fhir/")
	if !ok {
		return false
	}
	seg, _, _ := strings.Cut(rest, "/")
	if seg == "StructureDefinition" || seg == "" || (seg[0] >= '0' && seg[0] <= '9') {
		return false
	}
	return true
}

// typeProfiles are the profiles an element's definition requires of the type.
func typeProfiles(el *Element, typ string) []string {
	var out []string
	for _, t := range el.Type {
		if t.Code == typ || (len(el.Type) == 1 && typ == "") {
			out = append(out, t.Profile...)
		}
	}
	return out
}

// isResourceType reports whether an element's type code is a resource:
// Resource, or a resource type a profile narrowed it to (Bundle.entry.resource
// as Organization).
func (d *Definitions) isResourceType(code string) bool {
	if code == "Resource" || code == "DomainResource" {
		return true
	}
	if code == "" || code[0] < 'A' || code[0] > 'Z' {
		return false
	}
	c, err := d.compile(code)
	return err == nil && c.sd.Kind == "resource"
}

// primitiveExtension checks the "_name" part of a primitive: an id and extensions.
func (r *run) primitiveExtension(ext *jvalue, path pathID, ctx *resourceCtx) {
	if ext.kind != kObject {
		r.add(outcome.ErrorLevel, outcome.Structure, path, "structure", "The extension part of a primitive must be an object, not %s", ext.kind)
		return
	}
	c, err := r.d.compile("Element")
	if err != nil {
		return
	}
	r.children(ext, c.root.kids(), path, true, ctx, false)
}

// binding of one JSON member to the child definition it fills.
type member struct {
	node  *node
	typ   string
	name  string
	value *jvalue
	ext   *jvalue
}

// children validates the members of an object against the child
// definitions; root is true for the top of a resource, which has resourceType.
func (r *run) children(v *jvalue, kids []*node, path pathID, strict bool, ctx *resourceCtx, root bool) {
	if strict && len(v.fields) == 0 {
		r.add(outcome.ErrorLevel, outcome.Structure, path, "ele-1", "All FHIR elements must have a @value or children")
	}
	// The members live on the run's scratch stack: a segment per object,
	// released on return (nested objects push theirs above it).
	mark := len(r.members)
	defer func() { r.members = r.members[:mark] }()
	order := r.members[mark:mark]
	find := func(k *node) *member {
		for i := range order {
			if order[i].node == k {
				return &order[i]
			}
		}
		return nil
	}
	for _, f := range v.fields {
		name := f.name
		if name == "resourceType" && root {
			continue
		}
		ext := false
		if strings.HasPrefix(name, "_") {
			name, ext = name[1:], true
		}
		k, typ := match(kids, name)
		if k == nil {
			if strict {
				r.add(outcome.ErrorLevel, outcome.Structure, r.child(path, f.name), "structure", "Unrecognized property '%s'", f.name)
			} else if c := choiceOf(kids, name); c != nil && !ext {
				r.add(outcome.ErrorLevel, outcome.Structure, r.child(path, f.name), "type",
					"The definition of %s allows the types [%s], but found %s", c.el.Path, typeList(c.el), f.name)
			}
			continue
		}
		m := find(k)
		if m == nil {
			r.members = append(r.members, member{node: k, typ: typ, name: name})
			order = r.members[mark:]
			m = &order[len(order)-1]
		}
		if ext {
			m.ext = f.val
		} else {
			m.value = f.val
			m.typ = typ
		}
	}
	for _, k := range kids {
		if k.plain && !strict {
			continue
		}
		m := find(k)
		if m == nil {
			if min := k.el.MinCount(); min > 0 {
				r.add(outcome.ErrorLevel, outcome.Required, path, "cardinality",
					"%s: minimum required = %d, but only found 0", r.text(r.child(path, k.name)), min)
			}
			continue
		}
		r.member(m, path, strict, ctx)
	}
}

// match finds the child definition of a JSON member name, and the type the
// name chooses for a choice element.
func match(kids []*node, name string) (*node, string) {
	for _, k := range kids {
		if k.name == name {
			if len(k.el.Type) == 1 {
				return k, k.el.Type[0].Code
			}
			if k.ref != nil && len(k.ref.el.Type) == 1 {
				return k, k.ref.el.Type[0].Code
			}
			return k, ""
		}
		if k.prefix != "" && strings.HasPrefix(name, k.prefix) {
			if len(k.typeNames) == len(k.el.Type) {
				for i, t := range k.el.Type {
					if k.typeNames[i] == name {
						return k, t.Code
					}
				}
				continue
			}
			suffix := name[len(k.prefix):]
			for _, t := range k.el.Type {
				if upperFirst(t.Code) == suffix {
					return k, t.Code
				}
			}
		}
	}
	return nil, ""
}

// choiceOf is the choice element a member name such as valueUri belongs to,
// when the name's type is not among those the definition allows.
func choiceOf(kids []*node, name string) *node {
	for _, k := range kids {
		if p := k.choicePrefix(); p != "" && strings.HasPrefix(name, p) && len(name) > len(p) && name[len(p)] >= 'A' && name[len(p)] <= 'Z' {
			return k
		}
	}
	return nil
}

func typeList(el *Element) string {
	codes := make([]string, 0, len(el.Type))
	for _, t := range el.Type {
		codes = append(codes, t.Code)
	}
	return strings.Join(codes, ", ")
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// member validates every occurrence of one child element.
func (r *run) member(m *member, path pathID, strict bool, ctx *resourceCtx) {
	k := m.node
	name := m.name
	if k.prefix != "" {
		name = k.typeName(m.typ)
	}
	base := r.child(path, name)
	array := (m.value != nil && m.value.kind == kArray) || (m.ext != nil && m.ext.kind == kArray)
	if strict {
		r.shape(m, base, array)
	}
	values, exts := m.value.list(), m.ext.list()
	if m.value != nil && m.value.kind == kNull {
		values = nil
	}
	n := max(len(values), len(exts))
	mark := len(r.items)
	defer func() { r.items, r.paths = r.items[:mark], r.paths[:mark] }()

	for i := 0; i < n; i++ {
		it := item{typ: m.typ}
		if i < len(values) && values[i].kind != kNull {
			it.v = values[i]
		}
		if i < len(exts) && exts[i].kind != kNull {
			it.ext = exts[i]
		}
		if it.v == nil && it.ext == nil {
			continue
		}
		p := base
		if array {
			p = r.at(base, i)
		}
		r.items, r.paths = append(r.items, it), append(r.paths, p)
	}
	items, paths := r.items[mark:], r.paths[mark:]
	el := k.el
	if min := el.MinCount(); len(items) < min {
		r.add(outcome.ErrorLevel, outcome.Required, base, "cardinality",
			"%s: minimum required = %d, but only found %d", r.text(base), min, len(items))
	}
	if max := el.MaxCount(); max >= 0 && len(items) > max {
		if max == 0 {
			r.add(outcome.ErrorLevel, outcome.Structure, base, "cardinality",
				"%s: this element is not allowed here (max allowed = 0, found %d)", r.text(base), len(items))
		} else {
			r.add(outcome.ErrorLevel, outcome.Structure, base, "cardinality",
				"%s: max allowed = %d, but found %d", r.text(base), max, len(items))
		}
	}
	if m.typ == "" && len(el.Type) > 1 && k.choicePrefix() == "" {
		return
	}
	if len(k.slices) > 0 {
		r.sliced(items, paths, base, k, strict, ctx)
		return
	}
	for i, it := range items {
		r.occurrence(it, k, paths[i], strict, ctx)
	}
}

// shape checks that a member is an array exactly when it repeats.
func (r *run) shape(m *member, path pathID, array bool) {
	// The compact definitions keep no base cardinality; a profile's
	// narrowing of max to 1 would make a JSON array look wrong, but the
	// shape is judged in the base pass, on the core definition.
	repeats := m.node.el.Max != "1" && m.node.el.Max != "0"
	for _, v := range []*jvalue{m.value, m.ext} {
		if v == nil {
			continue
		}
		switch {
		case v.kind == kNull:
			r.add(outcome.ErrorLevel, outcome.Structure, path, "json", "The property %s must be a value, not null", m.name)
		case v.kind == kArray && len(v.items) == 0:
			r.add(outcome.ErrorLevel, outcome.Structure, path, "json", "Array cannot be empty - the property should not be present if it has no values")
		case v.kind == kArray && !repeats:
			r.add(outcome.ErrorLevel, outcome.Structure, path, "json", "The property %s must be a single value, not an array", m.name)
		case v.kind != kArray && repeats:
			r.add(outcome.ErrorLevel, outcome.Structure, path, "json", "The property %s must be an array, not %s", m.name, v.kind)
		case v.kind == kArray && v == m.value:
			for _, x := range v.items {
				if x.kind == kNull && m.ext == nil {
					r.add(outcome.ErrorLevel, outcome.Structure, path, "json", "A null in an array needs an extension at the same place in _%s", m.name)
				}
			}
		}
	}
}
