package profile

import (
	"fmt"
	"strings"
)

// compiled is a StructureDefinition's snapshot as a tree the walker follows.
type compiled struct {
	sd   *StructureDefinition
	root *node
	// core is true for a definition of the specification itself, whose
	// constraints the base pass evaluates (a profile pass skips them).
	core bool
}

// node is one ElementDefinition in the tree.
type node struct {
	el       *Element
	name     string // last path segment: "code", "value[x]"
	children []*node
	slices   []*node // the slices of a sliced element, in order
	ref      *node   // the element a contentReference names
	parent   *node
	// plain is true in a profile for an element (and its descendants)
	// that adds nothing to the core definition: a profile pass skips it.
	plain bool
	// prefix is the name of a choice element without "[x]", or "".
	prefix string
	// typeNames are, for a choice element, the member names of its types
	// (valueQuantity for Quantity), in the order of el.Type: found once
	// here rather than built for every member of every resource.
	typeNames []string
}

// newNode makes the node of an element, with what the walker reads of its
// name worked out once.
func newNode(el *Element) *node {
	n := &node{el: el, name: lastSegment(el.Path)}
	if strings.HasSuffix(n.name, "[x]") {
		n.prefix = n.name[:len(n.name)-3]
		n.typeNames = make([]string, len(el.Type))
		for i, t := range el.Type {
			n.typeNames[i] = n.prefix + upperFirst(t.Code)
		}
	}
	return n
}

// choicePrefix is the name of a choice element without "[x]", or "".
func (n *node) choicePrefix() string { return n.prefix }

// typeName is the member name of a choice element of type code.
func (n *node) typeName(code string) string {
	if len(n.typeNames) == len(n.el.Type) {
		for i, t := range n.el.Type {
			if t.Code == code {
				return n.typeNames[i]
			}
		}
	}
	return n.prefix + upperFirst(code)
}

// kids are the children that define the element's content.
func (n *node) kids() []*node {
	if n.ref != nil {
		return n.ref.children
	}
	return n.children
}

// compile returns the compiled form of the StructureDefinition at url,
// generating its snapshot if it has none.
func (d *Definitions) compile(name string) (*compiled, error) {
	if m := d.fast.Load(); m != nil {
		if c, ok := (*m)[name]; ok {
			return c, nil
		}
	}
	// The name may alias a resource being validated; what is kept is a copy.
	name = strings.Clone(name)
	c, err := d.compileSlow(Canonical(name))
	if err == nil {
		d.remember(name, c)
	}
	return c, err
}

// maxFast bounds the fast map: names as asked come from documents too
// (a profile's url with ever new |version tails), and each addition copies
// the map. Names beyond it are compiled by the slow path, which finds them
// in the compiled definitions.
const maxFast = 4096

// remember adds a compiled definition to the fast map, as a new map. It
// holds mu as Add and Remove do when they empty it, so that a map read
// before they changed the set is not put back after.
func (d *Definitions) remember(name string, c *compiled) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.fast.Load()
	if old != nil && len(*old) >= maxFast {
		return
	}
	m := make(map[string]*compiled, 1)
	if old != nil {
		m = make(map[string]*compiled, len(*old)+1)
		for k, v := range *old {
			m[k] = v
		}
	}
	m[name] = c
	d.fast.Store(&m)
}

func (d *Definitions) compileSlow(url string) (*compiled, error) {
	for s := d; s != nil; s = s.parent {
		s.mu.Lock()
		c, ok := s.compiled[url]
		err := s.failed[url]
		s.mu.Unlock()
		if ok {
			return c, nil
		}
		if err != nil {
			return nil, err
		}
	}
	owner := d.owner(url)
	if owner == nil {
		return nil, fmt.Errorf("unknown StructureDefinition %s", url)
	}
	sd := owner.local(url)
	c, err := d.build(sd)
	owner.mu.Lock()
	defer owner.mu.Unlock()
	if err != nil {
		owner.failed[url] = err
		return nil, err
	}
	if prev, ok := owner.compiled[url]; ok {
		return prev, nil
	}
	owner.compiled[url] = c
	return c, nil
}

// owner is the set in the chain that holds url.
func (d *Definitions) owner(url string) *Definitions {
	for s := d; s != nil; s = s.parent {
		s.mu.Lock()
		_, raw := s.raw[url]
		sd, dec := s.sds[url]
		s.mu.Unlock()
		if raw || (dec && sd != nil) {
			return s
		}
	}
	return nil
}

func (d *Definitions) build(sd *StructureDefinition) (*compiled, error) {
	if sd == nil {
		return nil, fmt.Errorf("undecodable StructureDefinition")
	}
	elements, err := d.snapshot(sd)
	if err != nil {
		return nil, err
	}
	root, err := tree(elements)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sd.URL, err)
	}
	c := &compiled{sd: sd, root: root, core: sd.Derivation != "constraint" && strings.HasPrefix(sd.URL, CorePrefix)}
	if !c.core && sd.Derivation == "constraint" {
		for _, k := range root.children {
			d.markPlain(k)
		}
	}
	return c, nil
}

// snapshot returns the definition's snapshot, generated when absent.
func (d *Definitions) snapshot(sd *StructureDefinition) ([]*Element, error) {
	if sd.Snapshot != nil && len(sd.Snapshot.Element) > 0 {
		return sd.Snapshot.Element, nil
	}
	if sd.Differential == nil {
		return nil, fmt.Errorf("%s has neither snapshot nor differential", sd.URL)
	}
	return d.Snapshot(sd)
}

// tree links the snapshot's elements by their ids.
func tree(elements []*Element) (*node, error) {
	if len(elements) == 0 {
		return nil, fmt.Errorf("empty snapshot")
	}
	ids := elementIDs(elements)
	byID := make(map[string]*node, len(elements))
	var root *node
	var refs []*node
	for i, el := range elements {
		id := ids[i]
		n := newNode(el)
		if i == 0 {
			root = n
			byID[id] = n
			continue
		}
		if byID[id] != nil {
			continue // a duplicate id: the first one stands
		}
		byID[id] = n
		if el.ContentReference != "" {
			refs = append(refs, n)
		}
		parentID, slice := splitID(id)
		if slice != "" {
			base := byID[parentID]
			if base == nil {
				return nil, fmt.Errorf("slice %s has no sliced element", id)
			}
			n.parent = base.parent
			base.slices = append(base.slices, n)
			continue
		}
		parent := byID[parentID]
		if parent == nil {
			return nil, fmt.Errorf("element %s has no parent", id)
		}
		n.parent = parent
		parent.children = append(parent.children, n)
	}
	for _, n := range refs {
		target := strings.TrimPrefix(n.el.ContentReference, "#")
		if i := strings.IndexByte(target, '#'); i >= 0 {
			target = target[i+1:]
		}
		n.ref = byID[target]
	}
	return root, nil
}

// splitID returns the id of the parent of an element (or, for a slice, of
// the sliced element) and the slice name of its last segment.
func splitID(id string) (parent, slice string) {
	last := lastSegment(id)
	head := strings.TrimSuffix(id, last)
	head = strings.TrimSuffix(head, ".")
	if i := strings.IndexByte(last, ':'); i >= 0 {
		name, sl := last[:i], last[i+1:]
		// A re-slice "a:s/r" is a slice of the slice "a:s".
		if j := strings.LastIndexByte(sl, '/'); j >= 0 {
			return join(head, name+":"+sl[:j]), sl[j+1:]
		}
		return join(head, name), sl
	}
	return head, ""
}

func join(head, seg string) string {
	if head == "" {
		return seg
	}
	return head + "." + seg
}

// lastSegment is the part after the last dot that is not inside a slice name.
func lastSegment(p string) string {
	// Slice names may hold dots only rarely; ids are split at the last dot
	// before the last ':' segment.
	colon := strings.LastIndexByte(p, ':')
	dot := strings.LastIndexByte(p, '.')
	if colon > dot {
		if d := strings.LastIndexByte(p[:colon], '.'); d >= 0 {
			return p[d+1:]
		}
		return p
	}
	return p[dot+1:]
}

// elementIDs returns each element's id, derived from its path and slice
// names where the definition has none.
func elementIDs(elements []*Element) []string {
	ids := make([]string, len(elements))
	current := map[string]string{} // path → id of the latest element at that path
	for i, el := range elements {
		if el.ID != "" {
			ids[i] = el.ID
			current[el.Path] = el.ID
			continue
		}
		parentPath := el.Path
		name := el.Path
		if j := strings.LastIndexByte(el.Path, '.'); j >= 0 {
			parentPath, name = el.Path[:j], el.Path[j+1:]
		} else {
			parentPath = ""
		}
		head := current[parentPath]
		if head == "" {
			head = parentPath
		}
		id := join(head, name)
		if el.SliceName != "" {
			id += ":" + el.SliceName
		}
		ids[i] = id
		current[el.Path] = id
	}
	return ids
}
