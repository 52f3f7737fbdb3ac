package profile

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"hpsandbox/fhirstore/outcome"
)

// resolve finds the resource a reference names inside the resource being
// validated: a contained resource ("#id"), or an entry of the Bundle that
// holds it (by fullUrl or by type and id). It returns nil otherwise.
func (c *resourceCtx) resolve(ref string) *jvalue {
	if strings.HasPrefix(ref, "#") {
		for x := c; x != nil; x = x.parent {
			for _, r := range x.value.get("contained").list() {
				if r.get("id").strOr("") == ref[1:] {
					return r
				}
			}
		}
		return nil
	}
	for x := c; x != nil; x = x.parent {
		if x.typ != "Bundle" {
			continue
		}
		for _, e := range x.value.get("entry").list() {
			res := e.get("resource")
			if res == nil {
				continue
			}
			full := e.get("fullUrl").strOr("")
			if full == ref {
				return res
			}
			typeID := res.get("resourceType").strOr("") + "/" + res.get("id").strOr("")
			if ref == typeID || strings.HasSuffix(full, "/"+ref) || strings.HasSuffix(ref, "/"+typeID) {
				return res
			}
		}
	}
	return nil
}

// bundle is the Bundle the resource is an entry of (or contained in), or nil.
func (c *resourceCtx) bundle() *resourceCtx {
	for x := c; x != nil; x = x.parent {
		if x.typ == "Bundle" && x != c {
			return x
		}
	}
	return nil
}

// referencedType is the resource type a reference names, or "".
func (c *resourceCtx) referencedType(ref string) string {
	if c != nil {
		if res := c.resolve(ref); res != nil {
			return res.get("resourceType").strOr("")
		}
	}
	if strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") {
		return ""
	}
	parts := strings.Split(strings.SplitN(ref, "?", 2)[0], "/")
	// [..., Type, id] or [..., Type, id, _history, vid]
	if len(parts) >= 4 && parts[len(parts)-2] == "_history" {
		parts = parts[:len(parts)-2]
	}
	if len(parts) >= 2 {
		t := parts[len(parts)-2]
		if t != "" && t[0] >= 'A' && t[0] <= 'Z' {
			return t
		}
	}
	return ""
}

// target checks that a Reference names a resource of a type its element allows.
func (r *run) target(v *jvalue, typ string, el *Element, path pathID, ctx *resourceCtx) {
	if typ != "Reference" {
		return
	}
	if ref := v.get("reference"); ref != nil && ref.kind == kString && (strings.HasPrefix(ref.str, "urn:uuid:") || strings.HasPrefix(ref.str, "urn:oid:")) {
		if b := ctx.bundle(); b != nil && ctx.resolve(ref.str) == nil {
			// A document or a message must hold what it refers to; other
			// Bundles may point outside themselves.
			sev := outcome.Warning
			if t := b.value.get("type").strOr(""); t == "document" || t == "message" {
				sev = outcome.ErrorLevel
			}
			r.add(sev, outcome.NotFound, path, "reference",
				"Can't find '%s' in the bundle: a urn reference names an entry's fullUrl", ref.str)
		}
	}
	t := r.targets(el)
	// A reference by identifier only (as Norwegian profiles send patients,
	// by national id) names no resource whose profile could be checked.
	hasRef := v.get("reference") != nil
	for _, p := range t.unknown {
		if !hasRef {
			break
		}
		r.add(outcome.ErrorLevel, outcome.NotFound, path, "reference",
			"Unable to resolve the profile reference '%s', so the target of this reference cannot be checked", p)
	}
	allowed := t.types
	if t.any || len(allowed) == 0 {
		return
	}
	found := ""
	if ref := v.get("reference"); ref != nil && ref.kind == kString {
		found = ctx.referencedType(ref.str)
	}
	if found == "" {
		found = v.get("type").strOr("")
	}
	if found == "" || slices.Contains(allowed, found) {
		return
	}
	r.add(outcome.ErrorLevel, outcome.Structure, path, "reference",
		"Invalid Resource target type. Found %s, but expected one of (%s)", found, strings.Join(allowed, ", "))
}

type targetSet struct {
	types   []string
	any     bool
	unknown []string // target profiles not known here
}

// targets are the resource types an element's target profiles allow (any
// is true when one of them is Resource), kept per element.
func (r *run) targets(el *Element) *targetSet {
	if v, ok := r.d.targetCache.Load(el); ok {
		return v.(*targetSet)
	}
	t := r.allowedTargets(el)
	r.d.targetCache.Store(el, t)
	return t
}

func (r *run) allowedTargets(el *Element) *targetSet {
	out := &targetSet{}
	for _, t := range el.Type {
		if t.Code != "Reference" {
			continue
		}
		for _, p := range t.TargetProfile {
			// A core profile (vitalsigns) stands for its type, as any
			// profile does; a core type's definition has its own name.
			name := strings.TrimPrefix(Canonical(p), CorePrefix)
			if sd := r.d.StructureDefinition(p); sd != nil && sd.Type != "" {
				name = sd.Type
			} else if strings.Contains(name, "/") {
				out.unknown = append(out.unknown, p)
				continue
			}
			if name == "Resource" {
				out.any = true
			}
			out.types = append(out.types, name)
		}
	}
	return out
}

// attachment checks that a stated size matches the data.
func (r *run) attachment(v *jvalue, path pathID) {
	data, size := v.get("data"), v.get("size")
	if data == nil || size == nil || data.kind != kString || size.kind != kNumber {
		return
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(data.str), ""))
	if err != nil {
		return
	}
	if n, err := strconv.Atoi(size.str); err == nil && n != len(b) {
		r.add(outcome.ErrorLevel, outcome.Structure, r.child(path, "size"), "attachment",
			"Stated Attachment Size %d does not match actual attachment size %d", n, len(b))
	}
}

// resourceRules are checks of a whole resource that no invariant states.
func (r *run) resourceRules(v *jvalue, typ string, path pathID, ctx *resourceCtx) {
	switch typ {
	case "SearchParameter":
		r.searchParameter(v, path)
	case "CapabilityStatement":
		r.capabilityStatement(v, path)
	case "StructureDefinition":
		r.structureDefinition(v, path)
	case "Bundle":
		r.bundle(v, path)
	}
}

// bundle checks what the Bundle's invariants leave out: unique link
// relations, and ids on search results.
func (r *run) bundle(v *jvalue, path pathID) {
	seen := map[string]bool{}
	for i, l := range v.get("link").list() {
		rel := l.get("relation").strOr("")
		if rel != "" && seen[rel] {
			r.add(outcome.ErrorLevel, outcome.Invalid, r.at(r.child(path, "link"), i), "bundle-link",
				"The link relationship type '%s' can only occur once", rel)
		}
		seen[rel] = true
	}
	if v.get("type").strOr("") == "searchset" {
		for i, e := range v.get("entry").list() {
			res := e.get("resource")
			if res != nil && res.get("id") == nil && e.get("search").get("mode").strOr("") != "outcome" {
				r.add(outcome.ErrorLevel, outcome.Invalid, r.child(r.at(r.child(path, "entry"), i), "resource"), "bundle-id",
					"Search results must have ids")
			}
		}
	}
}
