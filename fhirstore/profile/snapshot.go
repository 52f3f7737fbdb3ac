package profile

import (
	"fmt"
	"strings"
)

// Snapshot generates the snapshot of a StructureDefinition from its
// differential over its base definition (which may itself be a profile,
// whose snapshot is generated in turn). It narrows cardinalities, restricts
// types and target profiles, sets fixed and pattern values, bindings,
// invariants and slicing, adds slices (with copies of the sliced element's
// children) and expands the children of complex types the differential
// reaches into.
func (d *Definitions) Snapshot(sd *StructureDefinition) ([]*Element, error) {
	if sd.BaseDefinition == "" {
		return nil, fmt.Errorf("%s: no baseDefinition to generate a snapshot from", sd.URL)
	}
	if Canonical(sd.BaseDefinition) == sd.URL {
		return nil, fmt.Errorf("%s: it is its own base", sd.URL)
	}
	base, err := d.compile(sd.BaseDefinition)
	if err != nil {
		return nil, fmt.Errorf("%s: base %s: %w", sd.URL, sd.BaseDefinition, err)
	}
	baseEls, err := d.snapshot(base.sd)
	if err != nil {
		return nil, err
	}
	g := &generator{d: d, url: sd.URL}
	ids := elementIDs(baseEls)
	for i, el := range baseEls {
		c := el.clone()
		c.ID = ids[i]
		g.els = append(g.els, c)
		o := el.clone()
		o.ID = ids[i]
		g.base = append(g.base, o)
	}
	var diff []*Element
	if sd.Differential != nil {
		diff = sd.Differential.Element
	}
	diffIDs := elementIDs(diff)
	for i, de := range diff {
		if de == nil {
			continue
		}
		id, restrict := normalizeChoice(diffIDs[i], de)
		idx, err := g.ensure(id, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sd.URL, err)
		}
		g.merge(g.els[idx], de, restrict)
	}
	return g.els, nil
}

// normalizeChoice maps a differential element that names one type of a
// choice ("Observation.valueQuantity", or the slice
// "Observation.value[x]:valueQuantity") to the choice element, with the type
// it restricts the choice to.
func normalizeChoice(id string, de *Element) (string, string) {
	last := lastSegment(id)
	head := strings.TrimSuffix(strings.TrimSuffix(id, last), ".")
	if i := strings.Index(last, "[x]:"); i >= 0 {
		prefix, slice := last[:i], last[i+4:]
		if strings.HasPrefix(slice, prefix) && len(slice) > len(prefix) && !strings.Contains(slice, "/") {
			return join(head, prefix+"[x]"), slice[len(prefix):]
		}
	}
	return id, ""
}

type generator struct {
	d    *Definitions
	url  string
	els  []*Element
	base []*Element // the base snapshot as it was, for content references
	// baseMin is the min of each element whose min the differential
	// changed, as it was before: a slice added later starts from it.
	baseMin map[string]*int
}

func (g *generator) find(id string) int {
	for i, el := range g.els {
		if el.ID == id {
			return i
		}
	}
	return -1
}

// ensure returns the index of the element with the given id, creating it
// from the base: a slice as a copy of the sliced element, a child by
// expanding its parent's type.
func (g *generator) ensure(id string, depth int) (int, error) {
	if i := g.find(id); i >= 0 {
		return i, nil
	}
	if depth > 30 {
		return -1, fmt.Errorf("element %s: path too deep", id)
	}
	parentID, slice := splitID(id)
	if parentID == "" {
		return -1, fmt.Errorf("element %s is not in the base", id)
	}
	if slice != "" {
		bi, err := g.ensure(parentID, depth+1)
		if err != nil {
			return -1, err
		}
		return g.addSlice(bi, id, slice), nil
	}
	pi, err := g.ensure(parentID, depth+1)
	if err != nil {
		return -1, err
	}
	// The parent may have been found under another id (a choice named by
	// its type: valueIdentifier is value[x]); its children carry that id.
	id = join(g.els[pi].ID, lastSegment(id))
	if i := g.find(id); i >= 0 {
		return i, nil
	}
	if !g.hasChildren(pi) {
		if err := g.expand(pi); err != nil {
			return -1, err
		}
		if i := g.find(id); i >= 0 {
			return i, nil
		}
	}
	// A choice element named by one of its types.
	if i := g.choiceOf(id); i >= 0 {
		g.restrictChoice(i, lastSegment(id))
		return i, nil
	}
	return -1, fmt.Errorf("element %s is not in the base", id)
}

func (g *generator) choiceOf(id string) int {
	last := lastSegment(id)
	head := strings.TrimSuffix(strings.TrimSuffix(id, last), ".")
	for i, el := range g.els {
		l := lastSegment(el.ID)
		if strings.HasSuffix(l, "[x]") && strings.HasPrefix(last, l[:len(l)-3]) && strings.TrimSuffix(strings.TrimSuffix(el.ID, l), ".") == head {
			return i
		}
	}
	return -1
}

// restrictChoice keeps of a choice element the type a name such as
// valueIdentifier picks.
func (g *generator) restrictChoice(i int, name string) {
	el := g.els[i]
	prefix := strings.TrimSuffix(lastSegment(el.ID), "[x]")
	var kept []TypeRef
	for _, t := range el.Type {
		if prefix+upperFirst(t.Code) == name {
			kept = append(kept, t)
		}
	}
	if len(kept) > 0 {
		el.Type = kept
	}
}

func (g *generator) hasChildren(i int) bool {
	prefix := g.els[i].ID + "."
	return i+1 < len(g.els) && strings.HasPrefix(g.els[i+1].ID, prefix)
}

// subtreeEnd is the index after the element at i, its children and its slices.
func (g *generator) subtreeEnd(i int) int {
	id := g.els[i].ID
	j := i + 1
	for j < len(g.els) {
		other := g.els[j].ID
		if !strings.HasPrefix(other, id+".") && !strings.HasPrefix(other, id+":") {
			break
		}
		j++
	}
	return j
}

// addSlice copies the sliced element at bi (and its children) as the slice
// id, after the existing slices.
func (g *generator) addSlice(bi int, id, name string) int {
	base := g.els[bi]
	end := g.subtreeEnd(bi)
	var copies []*Element
	s := base.clone()
	s.ID, s.SliceName, s.Slicing = id, name, nil
	// The sliced element's cardinality counts all its slices together
	// (subject.identifier 1..1 sliced into FNR, DNR and FHN): a slice
	// starts from the base's min, not the one the differential set.
	if m, ok := g.baseMin[base.ID]; ok {
		s.Min = m
	}
	copies = append(copies, s)
	for j := bi + 1; j < end; j++ {
		el := g.els[j]
		if !strings.HasPrefix(el.ID, base.ID+".") {
			continue
		}
		c := el.clone()
		c.ID = id + strings.TrimPrefix(el.ID, base.ID)
		copies = append(copies, c)
	}
	g.insert(end, copies)
	return end
}

// expand inserts the children of the element at i from its type's definition.
func (g *generator) expand(i int) error {
	el := g.els[i]
	typeURL := ""
	switch {
	case el.ContentReference != "":
		return g.expandReference(i)
	case len(el.Type) == 1 && len(el.Type[0].Profile) > 0:
		typeURL = el.Type[0].Profile[0]
	case len(el.Type) == 1:
		typeURL = el.Type[0].Code
	default:
		return fmt.Errorf("element %s: cannot constrain the children of an element with %d types", el.ID, len(el.Type))
	}
	c, err := g.d.compile(typeURL)
	if err != nil {
		return fmt.Errorf("element %s: type %s: %w", el.ID, typeURL, err)
	}
	typeEls, err := g.d.snapshot(c.sd)
	if err != nil {
		return err
	}
	ids := elementIDs(typeEls)
	rootPath, rootID := typeEls[0].Path, ids[0]
	var copies []*Element
	for j := 1; j < len(typeEls); j++ {
		c := typeEls[j].clone()
		c.Path = el.Path + strings.TrimPrefix(c.Path, rootPath)
		c.ID = el.ID + strings.TrimPrefix(ids[j], rootID)
		copies = append(copies, c)
	}
	g.insert(i+1, copies)
	return nil
}

func (g *generator) expandReference(i int) error {
	// The reference names the base's element, not the profile's changes to it.
	el := g.els[i]
	target := el.ContentReference[strings.IndexByte(el.ContentReference, '#')+1:]
	ti := -1
	for j, b := range g.base {
		if b.ID == target {
			ti = j
			break
		}
	}
	if ti < 0 {
		return fmt.Errorf("element %s: content reference %s not found", el.ID, el.ContentReference)
	}
	var copies []*Element
	for j := ti + 1; j < len(g.base) && strings.HasPrefix(g.base[j].ID, target+"."); j++ {
		c := g.base[j].clone()
		c.ID = el.ID + strings.TrimPrefix(c.ID, target)
		c.Path = el.Path + strings.TrimPrefix(c.Path, g.base[ti].Path)
		copies = append(copies, c)
	}
	el.ContentReference = ""
	el.Type = append([]TypeRef(nil), g.base[ti].Type...)
	g.insert(i+1, copies)
	return nil
}

func (g *generator) insert(at int, els []*Element) {
	g.els = append(g.els[:at], append(els, g.els[at:]...)...)
}

// merge applies a differential element to its snapshot element.
func (g *generator) merge(dst, de *Element, restrict string) {
	if de.Min != nil {
		if _, ok := g.baseMin[dst.ID]; !ok {
			if g.baseMin == nil {
				g.baseMin = map[string]*int{}
			}
			g.baseMin[dst.ID] = dst.Min
		}
		m := *de.Min
		dst.Min = &m
	}
	if de.Max != "" {
		dst.Max = de.Max
	}
	if len(de.Type) > 0 {
		dst.Type = append([]TypeRef(nil), de.Type...)
	}
	if restrict != "" {
		var kept []TypeRef
		for _, t := range dst.Type {
			if upperFirst(t.Code) == restrict {
				kept = append(kept, t)
			}
		}
		if len(kept) > 0 {
			dst.Type = kept
		}
	}
	if de.Fixed != nil {
		dst.Fixed = de.Fixed
	}
	if de.Pattern != nil {
		dst.Pattern = de.Pattern
	}
	if de.MinValue != nil {
		dst.MinValue = de.MinValue
	}
	if de.MaxValue != nil {
		dst.MaxValue = de.MaxValue
	}
	if de.MaxLength > 0 {
		dst.MaxLength = de.MaxLength
	}
	if de.Binding != nil {
		b := *de.Binding
		if b.Strength == "" && dst.Binding != nil {
			b.Strength = dst.Binding.Strength
		}
		dst.Binding = &b
	}
	if de.Slicing != nil {
		s := *de.Slicing
		dst.Slicing = &s
	}
	if de.MustSupport {
		dst.MustSupport = true
	}
	if de.IsModifier {
		dst.IsModifier = true
	}
	if de.SliceName != "" && restrict == "" {
		dst.SliceName = de.SliceName
	}
	for _, c := range de.Constraint {
		if c.Source == "" {
			c.Source = g.url
		}
		replaced := false
		for i := range dst.Constraint {
			if dst.Constraint[i].Key == c.Key {
				dst.Constraint[i], replaced = c, true
			}
		}
		if !replaced {
			dst.Constraint = append(dst.Constraint, c)
		}
	}
}
