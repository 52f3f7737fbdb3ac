package profile

import (
	"slices"
	"strings"
)

// A profile repeats its base: most of its elements say no more than the
// core definition of their path, which the base pass has checked already.
// markPlain finds those elements (and subtrees) so that a profile pass
// skips them.

// markPlain sets n.plain on every node of a profile's tree whose element
// and descendants add nothing to the core definition of their path. It
// returns n.plain.
func (d *Definitions) markPlain(n *node) bool {
	plain := len(n.slices) == 0 && n.el.Slicing == nil && n.ref == nil
	for _, s := range n.slices {
		d.markPlain(s)
	}
	for _, k := range n.children {
		if !d.markPlain(k) {
			plain = false
		}
	}
	if plain {
		base := Core().coreNode(n.el.Path)
		plain = base != nil && sameRules(n.el, base.el)
	}
	n.plain = plain
	return plain
}

// coreNode finds the core definition of an element path, descending into
// the types of elements the core snapshot does not expand.
func (d *Definitions) coreNode(path string) *node {
	segs := strings.Split(path, ".")
	c, err := d.compile(segs[0])
	if err != nil || !c.core {
		return nil
	}
	n := c.root
	for _, seg := range segs[1:] {
		kids := n.kids()
		if len(kids) == 0 && len(n.el.Type) == 1 {
			tc, err := d.compile(n.el.Type[0].Code)
			if err != nil {
				return nil
			}
			kids = tc.root.kids()
		}
		var next *node
		for _, k := range kids {
			if k.name == seg {
				next = k
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// sameRules reports whether a profile's element states nothing beyond the
// core element: same cardinality, types, binding and no values, bounds or
// invariants of its own.
func sameRules(p, b *Element) bool {
	if p.MinCount() != b.MinCount() || p.MaxCount() != b.MaxCount() || p.MaxLength != b.MaxLength {
		return false
	}
	if p.Fixed != nil || p.Pattern != nil || p.MinValue != nil || p.MaxValue != nil || p.Slicing != nil {
		return false
	}
	if !slices.EqualFunc(p.Type, b.Type, func(x, y TypeRef) bool {
		return x.Code == y.Code && slices.Equal(x.Profile, y.Profile) && slices.Equal(x.TargetProfile, y.TargetProfile)
	}) {
		return false
	}
	if (p.Binding == nil) != (b.Binding == nil) || p.Binding != nil && *p.Binding != *b.Binding {
		return false
	}
	for _, c := range p.Constraint {
		if !Core().coreSource(c.Source) {
			return false
		}
	}
	return true
}
