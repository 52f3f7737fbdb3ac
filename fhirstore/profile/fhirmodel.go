package profile

import (
	"strings"
	"sync"
)

// model answers the FHIRPath engine's questions about R4 types from the
// core definitions (it implements eval.Model).
//
// Besides precision (value resolves to the one valueQuantity a choice
// allows), it is a workaround for the engine's cost: for any member absent
// from an object the engine tries fifty type suffixes, each a scan of the
// object's JSON, unless the model names the choice types of the path. For an
// element that is no choice the model therefore answers one suffix no JSON
// member can have, and the absent member costs one scan.
type model struct {
	d     *Definitions
	cache sync.Map // path → *pathInfo
}

// noChoice is the suffix answered for elements that are not choices.
var noChoice = []string{"\x00"}

type pathInfo struct {
	typ     string   // the type the engine should give the member's objects
	choices []string // the choice's type codes, or noChoice
	ref     string   // the element a contentReference names
}

var coreModel = &model{d: nil}

func (m *model) defs() *Definitions {
	if m.d != nil {
		return m.d
	}
	return Core()
}

// info looks a path such as "Observation.component.code" up in the core
// definitions; the first segment is a type name, or a backbone element's
// path given as a type.
func (m *model) info(path string) *pathInfo {
	if v, ok := m.cache.Load(path); ok {
		return v.(*pathInfo)
	}
	pi := m.lookup(path)
	// Paths of unknown types (a document may name any resourceType) are
	// not kept: the cache holds only what the definitions can answer.
	if pi != nil {
		m.cache.Store(path, pi)
	}
	return pi
}

func (m *model) lookup(path string) *pathInfo {
	segs := strings.Split(path, ".")
	c, err := m.defs().compile(segs[0])
	if err != nil {
		return nil
	}
	n := c.root
	for _, seg := range segs[1:] {
		var next *node
		for _, k := range n.kids() {
			if k.name == seg || k.choicePrefix() == seg {
				next = k
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	pi := &pathInfo{choices: noChoice}
	if n.ref != nil {
		pi.ref = n.ref.el.Path
	}
	el := n.el
	if n.choicePrefix() != "" {
		pi.choices = nil
		for _, t := range el.Type {
			pi.choices = append(pi.choices, t.Code)
		}
		return pi
	}
	if len(el.Type) == 1 {
		switch code := el.Type[0].Code; code {
		case "BackboneElement", "Element":
			pi.typ = el.Path
		case "Resource", "DomainResource":
			// A resource says its own type (resourceType); the engine reads it.
		default:
			pi.typ = typeName(code)
			switch pi.typ {
			case "System.String":
				// Resource.id, Element.id, Extension.url: strings, which the
				// engine must not read as dates or numbers ("1111").
				pi.typ = "string"
			default:
				if strings.HasPrefix(pi.typ, "System.") {
					pi.typ = ""
				}
			}
		}
	}
	return pi
}

// ChoiceTypes implements eval.Model.
func (m *model) ChoiceTypes(path string) []string {
	if pi := m.info(path); pi != nil {
		return pi.choices
	}
	return nil
}

// TypeOf implements eval.Model.
func (m *model) TypeOf(path string) string {
	if pi := m.info(path); pi != nil {
		return pi.typ
	}
	return ""
}

// ReferenceTargets implements eval.Model; invariants do not need it.
func (m *model) ReferenceTargets(string) []string { return nil }

// ParentType implements eval.Model.
func (m *model) ParentType(typ string) string {
	if strings.Contains(typ, ".") {
		return "BackboneElement"
	}
	sd := m.defs().StructureDefinition(typ)
	if sd == nil || sd.BaseDefinition == "" {
		return ""
	}
	return strings.TrimPrefix(sd.BaseDefinition, CorePrefix)
}

// IsSubtype implements eval.Model.
func (m *model) IsSubtype(child, parent string) bool {
	for t, i := child, 0; t != "" && i < 10; t, i = m.ParentType(t), i+1 {
		if t == parent {
			return true
		}
	}
	return false
}

// ResolvePath implements eval.Model.
func (m *model) ResolvePath(path string) string {
	if !strings.Contains(path, ".") {
		return path
	}
	if pi := m.info(path); pi != nil && pi.ref != "" {
		return pi.ref
	}
	return path
}

// IsResource implements eval.Model.
func (m *model) IsResource(typ string) bool {
	sd := m.defs().StructureDefinition(typ)
	return sd != nil && sd.Kind == "resource"
}
