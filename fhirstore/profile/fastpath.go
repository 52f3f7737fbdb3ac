package profile

import (
	"bytes"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gofhir/fhirpath/eval"
	"github.com/gofhir/fhirpath/types"
)

// The FHIRPath engine costs microseconds per evaluation, mostly scanning the
// JSON of the focus for each member an expression names; a resource has a
// dozen invariants and its elements more. This file decides what it can
// without the engine, and hands the engine only the members an expression
// can read.

// shape is what an invariant's expression reads, found once per expression.
type shape struct {
	// names are the identifiers the expression navigates (function names
	// excluded).
	names map[string]bool
	// local is true when the expression reads nothing but members of its
	// focus by name: no %variables, no descendants()/children()/repeat(),
	// no $this or resolve(). Its value on a focus with none of the names
	// is then its value on an empty object.
	local bool
	// projectable is true when members of the focus and of %resource not
	// named can be dropped before evaluation.
	projectable bool
	// vars is true when the expression reads %resource or %rootResource.
	vars bool
}

var shapes sync.Map // expression → *shape

var wholeFocus = []string{"descendants", "children", "repeat", "$this", "resolve", "hasValue", "conformsTo", "memberOf", "toString", "trace", "htmlChecks", "%context", "%vs-", "%ext-", "%`"}

func shapeOf(expr string) *shape {
	if v, ok := shapes.Load(expr); ok {
		return v.(*shape)
	}
	s := &shape{names: identifiers(expr), projectable: true}
	for _, w := range wholeFocus {
		if strings.Contains(expr, w) {
			s.projectable = false
		}
	}
	s.local = s.projectable && !strings.Contains(expr, "%")
	s.vars = strings.Contains(expr, "%resource") || strings.Contains(expr, "%rootResource")
	shapes.Store(expr, s)
	return s
}

// identifiers returns the member names an expression may navigate: the
// identifiers outside string literals that are not function calls,
// variables or operators.
func identifiers(expr string) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '\'':
			i++
			for i < len(expr) && expr[i] != '\'' {
				if expr[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case c == '%':
			i++
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
		case c == '`':
			j := strings.IndexByte(expr[i+1:], '`')
			if j < 0 {
				return out
			}
			out[expr[i+1:i+1+j]] = true
			i += j + 2
		case isIdent(c) && !(c >= '0' && c <= '9'):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			k := j
			for k < len(expr) && expr[k] == ' ' {
				k++
			}
			// extension('url') is a function that reads the member extension.
			if k >= len(expr) || expr[k] != '(' || expr[i:j] == "extension" {
				out[expr[i:j]] = true
			}
			i = j
		default:
			i++
		}
	}
	return out
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// names reports whether an object has a member the shape names (a choice
// member valueQuantity counts as value).
func (s *shape) reads(v *jvalue) bool {
	for _, f := range v.fields {
		if s.names[f.name] || s.names[choiceBase(f.name)] {
			return true
		}
	}
	return false
}

// choiceBase is "value" for "valueQuantity", else the name itself.
func choiceBase(name string) string {
	for i := 1; i < len(name); i++ {
		if name[i] >= 'A' && name[i] <= 'Z' {
			return name[:i]
		}
	}
	return name
}

// project returns the JSON of an object with only the members the shape
// names (and resourceType, which types the object).
func (s *shape) project(v *jvalue) []byte {
	if v.kind != kObject {
		return v.raw
	}
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, f := range v.fields {
		if !s.keeps(f.name) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteByte('"')
		b.WriteString(f.name)
		b.WriteString(`":`)
		b.Write(f.val.raw)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// keeps reports whether a projection keeps a member.
func (s *shape) keeps(name string) bool {
	return name == "resourceType" || s.names[name] || s.names[choiceBase(name)] ||
		(strings.HasPrefix(name, "_") && s.names[choiceBase(name[1:])])
}

// emptyResults caches each local expression's value on an empty object of
// a type: expression + "\x00" + type → bool.
var emptyResults sync.Map

var emptyCount atomic.Int64

const maxEmptyResults = 1 << 16

// holdsOnEmpty evaluates a local expression on an empty object of a type, once.
func holdsOnEmpty(expr, typ string) (bool, bool) {
	key := expr + "\x00" + typ
	if v, ok := emptyResults.Load(key); ok {
		return v.(bool), true
	}
	e, err := compileExpr(expr)
	if err != nil {
		return false, false
	}
	raw := []byte(`{}`)
	ectx := eval.NewContext(raw)
	ectx.SetModel(coreModel)
	ectx = ectx.WithThis(types.Collection{types.NewObjectValueWithType(raw, typ)})
	col, err := e.EvaluateWithContext(ectx)
	if err != nil {
		return false, false
	}
	holds := len(col) == 0
	if b, ok := col[0:min(1, len(col))], len(col) == 1; ok {
		if v, isBool := b[0].(types.Boolean); isBool {
			holds = v.Bool()
		}
	}
	// The type may come from a document (its resourceType); the cache
	// stops growing at a bound the definitions never reach.
	if emptyCount.Add(1) < maxEmptyResults {
		emptyResults.Store(key, holds)
	}
	return holds, true
}

// coreGuard decides some of the specification's most frequent invariants
// when their subject is absent: dom-2 to dom-5 read only contained
// resources, ref-1 only a local reference. decided is false when the engine
// must evaluate.
func coreGuard(c *Constraint, v *jvalue) (holds, decided bool) {
	if c.Source != "" && !strings.HasPrefix(c.Source, CorePrefix) {
		return false, false
	}
	switch c.Key {
	case "dom-2", "dom-3", "dom-4", "dom-5":
		return true, v.get("contained") == nil
	case "ref-1":
		ref := v.get("reference")
		return true, ref == nil || ref.kind != kString || !strings.HasPrefix(ref.str, "#")
	case "ext-1":
		hasValue := false
		for _, f := range v.fields {
			// A primitive value with extensions only (_valueString) is a
			// value too.
			name := strings.TrimPrefix(f.name, "_")
			if strings.HasPrefix(name, "value") && len(name) > 5 {
				hasValue = true
			}
		}
		return (v.get("extension") != nil) != hasValue, true
	}
	return false, false
}

// memo remembers the value of invariants on the projections they were
// evaluated on: an expression that reads only named members is a function
// of those members (and of the type), so the same projection gives the same
// answer. Device data repeats itself (the same codes, units and systems in
// every reading); the memo is bounded and starts afresh when full. Its keys
// are two independent 64-bit hashes of the expression, the type and the
// projected members, written without building the projection.
var memo = &memoTable{}

const memoSize = 1 << 14

type memoKey [2]uint64

type memoTable struct {
	mu sync.RWMutex
	m  map[memoKey]bool
}

func (t *memoTable) get(key memoKey) (bool, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.m[key]
	return v, ok
}

func (t *memoTable) put(key memoKey, holds bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil || len(t.m) >= memoSize {
		t.m = make(map[memoKey]bool, 256)
	}
	t.m[key] = holds
}

var seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// key hashes what an evaluation reads: the expression, the focus's type
// and the named members of the focus and of %resource and %rootResource.
func (s *shape) key(expr, typ string, focus, res, root *jvalue) memoKey {
	var k memoKey
	for i := range k {
		var h maphash.Hash
		h.SetSeed(seeds[i])
		h.WriteString(expr)
		h.WriteByte(0)
		h.WriteString(typ)
		for _, v := range []*jvalue{focus, res, root} {
			h.WriteByte(0)
			if v == nil {
				continue
			}
			if v.kind != kObject {
				h.Write(v.raw)
				continue
			}
			for _, f := range v.fields {
				if s.keeps(f.name) {
					h.WriteString(f.name)
					h.WriteByte(':')
					h.Write(f.val.raw)
					h.WriteByte(',')
				}
			}
		}
		k[i] = h.Sum64()
	}
	return k
}
