package profile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// kind is the JSON kind of a value.
type kind uint8

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kObject
	kArray
)

func (k kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "object", "array"}[k]
}

// jvalue is a parsed JSON value that keeps its exact bytes (for FHIRPath and
// for numbers, whose text matters: 1.50 is not 1.5 in FHIR) and the order of
// object members.
type jvalue struct {
	kind   kind
	raw    []byte
	str    string // string value, or the text of a number, or "true"/"false"
	fields []jfield
	items  []*jvalue
}

type jfield struct {
	name string
	val  *jvalue
}

// get returns the member named name of an object, or nil.
func (v *jvalue) get(name string) *jvalue {
	if v == nil || v.kind != kObject {
		return nil
	}
	for i := range v.fields {
		if v.fields[i].name == name {
			return v.fields[i].val
		}
	}
	return nil
}

// list returns the value as a list of items: the items of an array, the
// value itself otherwise, none for nil.
func (v *jvalue) list() []*jvalue {
	switch {
	case v == nil:
		return nil
	case v.kind == kArray:
		return v.items
	}
	return []*jvalue{v}
}

// parseError is a JSON syntax error with its line.
type parseError struct {
	line int
	msg  string
}

func (e *parseError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

type parser struct {
	b     []byte
	i     int
	depth int
	// The tree is cut from three arenas, sized from the document before
	// parsing: one allocation each for its values, members and items
	// instead of one for every object and array.
	slab      []jvalue
	fieldSlab []jfield
	itemSlab  []*jvalue
	// Members and items are gathered on stacks and copied out at the end
	// of their object or array, into the arenas. The stacks are kept in a
	// pool across parses.
	fields []jfield
	items  []*jvalue
}

// parsers keeps the stacks of finished parses for the next ones.
var parsers = sync.Pool{New: func() any { return new(parser) }}

// reserve sizes the arenas from counts of the document's bytes: a member
// name ends in `":` (in compact JSON, and as encoders indent it), and
// commas separate the members of objects and the items of arrays. Bytes
// inside strings and other spacing only make the guess wrong, not the
// tree: a full arena is followed by another.
func (p *parser) reserve() {
	members := bytes.Count(p.b, []byte(`":`))
	commas := bytes.Count(p.b, []byte{','})
	objects := bytes.Count(p.b, []byte{'{'})
	arrays := bytes.Count(p.b, []byte{'['})
	// Each item after an array's first, and each member after an
	// object's first, follows a comma.
	items := max(commas-members+objects, 0) + arrays
	p.slab = make([]jvalue, 0, 1+members+items)
	p.fieldSlab = make([]jfield, 0, members)
	p.itemSlab = make([]*jvalue, 0, items)
}

// alloc returns a new value from the parser's arena.
func (p *parser) alloc(v jvalue) *jvalue {
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]jvalue, 0, 64)
	}
	p.slab = append(p.slab, v)
	return &p.slab[len(p.slab)-1]
}

// cutFields copies members into the arena, as a slice that cannot grow
// into its neighbours.
func (p *parser) cutFields(fs []jfield) []jfield {
	if cap(p.fieldSlab)-len(p.fieldSlab) < len(fs) {
		p.fieldSlab = make([]jfield, 0, max(len(fs), 64))
	}
	start := len(p.fieldSlab)
	p.fieldSlab = append(p.fieldSlab, fs...)
	return p.fieldSlab[start:len(p.fieldSlab):len(p.fieldSlab)]
}

// cutItems copies items into the arena, as cutFields does members.
func (p *parser) cutItems(items []*jvalue) []*jvalue {
	if cap(p.itemSlab)-len(p.itemSlab) < len(items) {
		p.itemSlab = make([]*jvalue, 0, max(len(items), 64))
	}
	start := len(p.itemSlab)
	p.itemSlab = append(p.itemSlab, items...)
	return p.itemSlab[start:len(p.itemSlab):len(p.itemSlab)]
}

// parseJSON parses a whole JSON document.
func parseJSON(b []byte) (*jvalue, error) {
	// A UTF-8 byte order mark is not JSON, but editors write it; the
	// content after it is read.
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		b = b[3:]
	}
	p := parsers.Get().(*parser)
	p.b, p.i, p.depth = b, 0, 0
	p.reserve()
	v, err := p.value()
	if err == nil {
		p.space()
		if p.i != len(p.b) {
			v, err = nil, p.fail("unexpected content after the end of the JSON value")
		}
	}
	p.release()
	if err != nil {
		return nil, err
	}
	return v, nil
}

// release returns the parser to the pool, holding nothing of the document
// or its tree.
func (p *parser) release() {
	clear(p.fields[:cap(p.fields)])
	clear(p.items[:cap(p.items)])
	p.fields, p.items = p.fields[:0], p.items[:0]
	p.b, p.slab, p.fieldSlab, p.itemSlab = nil, nil, nil, nil
	parsers.Put(p)
}

func (p *parser) fail(format string, args ...any) error {
	line := 1
	for _, c := range p.b[:min(p.i, len(p.b))] {
		if c == '\n' {
			line++
		}
	}
	return &parseError{line: line, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

const maxDepth = 200

func (p *parser) value() (*jvalue, error) {
	p.space()
	if p.i >= len(p.b) {
		return nil, p.fail("unexpected end of the JSON")
	}
	start := p.i
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(start)
	case c == '[':
		return p.array(start)
	case c == '"':
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		return p.alloc(jvalue{kind: kString, raw: p.b[start:p.i], str: s}), nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
				p.i += len(lit)
				k := kBool
				if lit == "null" {
					k = kNull
				}
				return p.alloc(jvalue{kind: k, raw: p.b[start:p.i], str: lit}), nil
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(start)
	case c == '/':
		return nil, p.fail("comments are not allowed in JSON")
	}
	return nil, p.fail("unexpected character %q", p.b[p.i])
}

func (p *parser) object(start int) (*jvalue, error) {
	// On an error the parse is abandoned: depth and stacks are restored
	// only on the way out of a value that was read.
	if p.depth++; p.depth > maxDepth {
		return nil, p.fail("nested too deeply")
	}
	v := p.alloc(jvalue{kind: kObject})
	p.i++
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		v.raw = p.b[start:p.i]
		p.depth--
		return v, nil
	}
	mark := len(p.fields)
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.fail("a property name must be a quoted string")
		}
		name, err := p.stringAs(true)
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.fail("expected ':' after property %q", name)
		}
		p.i++
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		p.fields = append(p.fields, jfield{name: name, val: val})
		p.space()
		if p.i >= len(p.b) {
			return nil, p.fail("unexpected end of the JSON in an object")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			v.raw = p.b[start:p.i]
			v.fields = p.cutFields(p.fields[mark:])
			p.fields = p.fields[:mark]
			p.depth--
			return v, nil
		default:
			return nil, p.fail("expected ',' or '}' after property %q", name)
		}
	}
}

func (p *parser) array(start int) (*jvalue, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, p.fail("nested too deeply")
	}
	v := p.alloc(jvalue{kind: kArray})
	p.i++
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		v.raw = p.b[start:p.i]
		p.depth--
		return v, nil
	}
	mark := len(p.items)
	for {
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		p.items = append(p.items, item)
		p.space()
		if p.i >= len(p.b) {
			return nil, p.fail("unexpected end of the JSON in an array")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			v.raw = p.b[start:p.i]
			v.items = p.cutItems(p.items[mark:])
			p.items = p.items[:mark]
			p.depth--
			return v, nil
		default:
			return nil, p.fail("expected ',' or ']' in an array")
		}
	}
}

func (p *parser) string() (string, error) { return p.stringAs(false) }

// stringAs reads a string; a property name is interned, since resources
// repeat the same few hundred names.
func (p *parser) stringAs(name bool) (string, error) {
	start := p.i
	p.i++
	escaped, ascii := false, true
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			raw := p.b[start:p.i]
			if !escaped {
				if !ascii && !utf8.Valid(raw) {
					return "", p.fail("invalid UTF-8 in a string")
				}
				body := raw[1 : len(raw)-1]
				if name {
					return intern(body), nil
				}
				if len(body) == 0 {
					return "", nil
				}
				// The value aliases the document: Validate reads it while it
				// runs and copies what it reports.
				return unsafe.String(&body[0], len(body)), nil
			}
			if s, ok := unescape(raw[1:len(raw)-1], ascii); ok {
				return s, nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", p.fail("invalid string: %v", err)
			}
			return s, nil
		case c == '\\':
			escaped = true
			p.i += 2
		case c < 0x20:
			return "", p.fail("control character in a string")
		default:
			if c >= 0x80 {
				ascii = false
			}
			p.i++
		}
	}
	return "", p.fail("unterminated string")
}

func (p *parser) number(start int) (*jvalue, error) {
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if digits() == 0 {
		return nil, p.fail("invalid number")
	}
	if p.b[intStart] == '0' && p.i-intStart > 1 {
		return nil, p.fail("a number must not start with 0")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	raw := p.b[start:p.i]
	return p.alloc(jvalue{kind: kNumber, raw: raw, str: unsafe.String(&raw[0], len(raw))}), nil
}

// names holds interned property names. It is replaced, never changed, so
// that lookups need no lock; it stops growing at maxNames, so that
// resources with made-up names cannot grow it without bound.
var names atomic.Pointer[map[string]string]

const maxNames = 4096

var namesMu sync.Mutex

func intern(b []byte) string {
	if m := names.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	s := string(b)
	namesMu.Lock()
	defer namesMu.Unlock()
	old := names.Load()
	if old != nil && len(*old) >= maxNames {
		return s
	}
	m := make(map[string]string, 64)
	if old != nil {
		m = make(map[string]string, len(*old)+1)
		for k, v := range *old {
			m[k] = v
		}
	}
	m[s] = s
	names.Store(&m)
	return s
}

// unescape decodes the body of a JSON string with escapes, as
// encoding/json does, for the escapes resources hold (quotes in XHTML,
// \u00f8 for ø). ok is false for what it leaves to encoding/json: a bad
// escape, a surrogate, or invalid UTF-8, whose repair or error that
// package words.
func unescape(body []byte, ascii bool) (string, bool) {
	if !ascii && !utf8.Valid(body) {
		return "", false
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(body) {
			return "", false
		}
		i++
		switch body[i] {
		case '"', '\\', '/':
			out = append(out, body[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+4 >= len(body) {
				return "", false
			}
			var r rune
			for _, h := range body[i+1 : i+5] {
				switch {
				case h >= '0' && h <= '9':
					r = r<<4 | rune(h-'0')
				case h >= 'a' && h <= 'f':
					r = r<<4 | rune(h-'a'+10)
				case h >= 'A' && h <= 'F':
					r = r<<4 | rune(h-'A'+10)
				default:
					return "", false
				}
			}
			if r >= 0xD800 && r <= 0xDFFF {
				return "", false
			}
			out = utf8.AppendRune(out, r)
			i += 4
		default:
			return "", false
		}
	}
	return string(out), true
}
