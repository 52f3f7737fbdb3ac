package profile

import (
	"strconv"
	"strings"
)

// pathID names an element's place in the resource being validated, as a
// segment of the run's path table; the FHIRPath text
// (Observation.component[1].code) is built only for an issue. Building it
// for every element was a third of a validation's allocations.
type pathID int32

// noPath is the place of an issue about the document as a whole.
const noPath pathID = -1

type pathSeg struct {
	parent pathID
	name   string // "name", or the root's resource type
	index  int32  // the position in an array, or -1
}

// root starts a path at a resource type.
func (r *run) root(typ string) pathID {
	r.segs = append(r.segs, pathSeg{parent: noPath, name: typ, index: -1})
	return pathID(len(r.segs) - 1)
}

// child is the path of a member of p.
func (r *run) child(p pathID, name string) pathID {
	r.segs = append(r.segs, pathSeg{parent: p, name: name, index: -1})
	return pathID(len(r.segs) - 1)
}

// at is the path of the i-th item of the array at p.
func (r *run) at(p pathID, i int) pathID {
	r.segs = append(r.segs, pathSeg{parent: p, index: int32(i)})
	return pathID(len(r.segs) - 1)
}

// text renders a path as FHIRPath.
func (r *run) text(p pathID) string {
	if p == noPath {
		return ""
	}
	var parts []pathSeg
	for q := p; q != noPath; q = r.segs[q].parent {
		parts = append(parts, r.segs[q])
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		s := parts[i]
		switch {
		case s.index >= 0:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(int(s.index)))
			b.WriteByte(']')
		case s.parent == noPath:
			b.WriteString(s.name)
		default:
			b.WriteByte('.')
			b.WriteString(s.name)
		}
	}
	return b.String()
}
