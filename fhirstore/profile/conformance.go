package profile

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/searchparam"
)

// Rules for conformance resources that refer to the specification's search
// parameters: a SearchParameter derived from one keeps its type and bases,
// and a CapabilityStatement states a parameter with the type of its
// definition.

type coreParam struct {
	typ   string
	bases []string
}

var coreParams = sync.OnceValue(func() map[string]*coreParam {
	out := map[string]*coreParam{}
	for _, rt := range searchparam.ResourceTypes() {
		for _, p := range searchparam.ForType(rt) {
			if p.URL == "" {
				continue
			}
			cp := out[p.URL]
			if cp == nil {
				cp = &coreParam{typ: p.Type.String()}
				out[p.URL] = cp
			}
			cp.bases = append(cp.bases, rt)
		}
	}
	return out
})

func (r *run) searchParameter(v *jvalue, path pathID) {
	from := v.get("derivedFrom").strOr("")
	cp := coreParams()[stripVersion(from)]
	if cp == nil {
		return
	}
	if typ := v.get("type").strOr(""); typ != "" && typ != cp.typ {
		r.add(outcome.ErrorLevel, outcome.BusinessRule, r.child(path, "type"), "searchparameter",
			"The type %s is different to the type %s in the derivedFrom SearchParameter %s", typ, cp.typ, from)
	}
	// The parameters of Resource and DomainResource are indexed per type,
	// so their bases here are the types; their own base is theirs too.
	generic := strings.Contains(from, "/SearchParameter/Resource-") || strings.Contains(from, "/SearchParameter/DomainResource-")
	for i, b := range v.get("base").list() {
		if generic && (b.str == "Resource" || b.str == "DomainResource") {
			continue
		}
		if b.kind == kString && !slices.Contains(cp.bases, b.str) && !slices.Contains(cp.bases, "Resource") {
			r.add(outcome.ErrorLevel, outcome.BusinessRule, r.at(r.child(path, "base"), i), "searchparameter",
				"The resource type %s is not listed as a base in the SearchParameter this is derived from (%s)", b.str, from)
		}
	}
}

func (r *run) capabilityStatement(v *jvalue, path pathID) {
	for i, rest := range v.get("rest").list() {
		for j, res := range rest.get("resource").list() {
			for k, sp := range res.get("searchParam").list() {
				def := sp.get("definition").strOr("")
				cp := coreParams()[stripVersion(def)]
				typ := sp.get("type").strOr("")
				if cp == nil || typ == "" || typ == cp.typ {
					continue
				}
				r.add(outcome.ErrorLevel, outcome.BusinessRule,
					r.at(r.child(r.at(r.child(r.at(r.child(path, "rest"), i), "resource"), j), "searchParam"), k), "searchparameter",
					"Type mismatch - SearchParameter %s type is %s, but type here is %s", def, cp.typ, typ)
			}
		}
	}
}

func stripVersion(url string) string {
	for i := 0; i < len(url); i++ {
		if url[i] == '|' {
			return url[:i]
		}
	}
	return url
}

// structureDefinition checks that the discriminators a profile's
// differential declares name an element of what they slice.
func (r *run) structureDefinition(v *jvalue, path pathID) {
	sd := new(StructureDefinition)
	if err := json.Unmarshal(v.raw, sd); err != nil || sd.Differential == nil || sd.BaseDefinition == "" || sd.Snapshot != nil {
		return
	}
	declared := map[string]bool{}
	ids := elementIDs(sd.Differential.Element)
	for i, el := range sd.Differential.Element {
		if el != nil && el.Slicing != nil {
			declared[ids[i]] = true
		}
	}
	if len(declared) == 0 {
		return
	}
	els, err := r.d.Snapshot(sd)
	if err != nil {
		r.add(outcome.Warning, outcome.Processing, path, "snapshot", "The snapshot of this profile could not be generated: %v", err)
		return
	}
	for _, el := range els {
		if el.Slicing == nil || !declared[el.ID] {
			continue
		}
		kids := r.elementKids(els, el)
		for _, d := range el.Slicing.Discriminator {
			first := pathSegments(d.Path)[0]
			if first == "$this" || first == "resolve()" || strings.HasPrefix(first, "extension(") || strings.HasPrefix(first, "ofType(") {
				continue
			}
			if !kids[first] {
				r.add(outcome.ErrorLevel, outcome.Invalid, path, "slicing",
					"The discriminator path '%s' does not appear to be valid for the element that is being sliced '%s'", d.Path, el.ID)
			}
		}
	}
}

// elementKids are the names of the children of a snapshot element: those
// the snapshot lists, else those of its type.
func (r *run) elementKids(els []*Element, el *Element) map[string]bool {
	names := map[string]bool{}
	for _, other := range els {
		if strings.HasPrefix(other.ID, el.ID+".") && !strings.Contains(other.ID[len(el.ID)+1:], ".") {
			names[strings.TrimSuffix(lastSegment(other.Path), "[x]")] = true
		}
	}
	if len(names) > 0 {
		return names
	}
	for _, t := range el.Type {
		c, err := r.d.compile(t.Code)
		for _, p := range t.Profile {
			if pc, perr := r.d.compile(p); perr == nil {
				c, err = pc, nil
			}
		}
		if err != nil {
			continue
		}
		for _, k := range c.root.kids() {
			names[strings.TrimSuffix(k.name, "[x]")] = true
		}
	}
	return names
}
