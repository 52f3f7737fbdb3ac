package searchparam

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/searchparam/internal/union"
)

// ErrUnknownType is returned for a resource type that FHIR R4 does not define.
var ErrUnknownType = errors.New("searchparam: unknown resource type")

// Extract evaluates every search parameter of resourceType on the resource
// JSON body and returns its index rows. The body is expected to be a valid
// resource already (the store validates before it indexes); values that do
// not parse as their type are skipped. Extract is safe for concurrent use.
func Extract(resourceType string, body []byte) (*Index, error) {
	params, err := compiledFor(resourceType)
	if err != nil {
		return nil, err
	}
	return extract(params, nil, resourceType, body)
}

// Extractor extracts the rows of some of a type's parameters: a store that
// does not write the rows of some parameters (they copy others') need not
// compute them.
type Extractor struct {
	resourceType string
	params       []compiledParam
	sizes        rowSizes
}

// NewExtractor returns an Extractor of the parameters of resourceType that
// keep accepts. The rows of a composite parameter are numbered by the
// composites kept, so a store must not mix the rows of Extractors that keep
// different sets.
func NewExtractor(resourceType string, keep func(*Param) bool) (*Extractor, error) {
	params, err := compiledFor(resourceType)
	if err != nil {
		return nil, err
	}
	var kept []compiledParam
	for _, p := range params {
		if keep(p.Param) {
			kept = append(kept, p)
		}
	}
	return &Extractor{resourceType: resourceType, params: kept}, nil
}

// Extract is Extract of the Extractor's type and parameters. It is safe for
// concurrent use.
func (e *Extractor) Extract(body []byte) (*Index, error) {
	return extract(e.params, &e.sizes, e.resourceType, body)
}

// rowSizes are the numbers of rows of each kind the last extraction of
// an Extractor gave: resources of one type and source tend to give as
// many, and the next extraction allocates its rows at that size once
// instead of growing them from nothing.
type rowSizes [7]atomic.Int32

// make gives x's row slices the capacities of the last extraction.
func (s *rowSizes) make(x *Index) {
	if n := s[0].Load(); n > 0 {
		x.Strings = make([]StringRow, 0, n)
	}
	if n := s[1].Load(); n > 0 {
		x.Tokens = make([]TokenRow, 0, n)
	}
	if n := s[2].Load(); n > 0 {
		x.References = make([]ReferenceRow, 0, n)
	}
	if n := s[3].Load(); n > 0 {
		x.Dates = make([]DateRow, 0, n)
	}
	if n := s[4].Load(); n > 0 {
		x.Numbers = make([]NumberRow, 0, n)
	}
	if n := s[5].Load(); n > 0 {
		x.Quantities = make([]QuantityRow, 0, n)
	}
	if n := s[6].Load(); n > 0 {
		x.URIs = make([]URIRow, 0, n)
	}
}

// note remembers the numbers of rows of x, bounded so that one huge
// resource does not make every later extraction allocate for its like.
func (s *rowSizes) note(x *Index) {
	for i, n := range [7]int{len(x.Strings), len(x.Tokens), len(x.References), len(x.Dates),
		len(x.Numbers), len(x.Quantities), len(x.URIs)} {
		s[i].Store(int32(min(n, maxRowHint)))
	}
	// Kinds without rows stay nil, as without a hint.
	x.Strings, x.Tokens, x.References = nilIfEmpty(x.Strings), nilIfEmpty(x.Tokens), nilIfEmpty(x.References)
	x.Dates, x.Numbers, x.Quantities = nilIfEmpty(x.Dates), nilIfEmpty(x.Numbers), nilIfEmpty(x.Quantities)
	x.URIs = nilIfEmpty(x.URIs)
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// maxRowHint bounds the capacity a hint asks for.
const maxRowHint = 256

func extract(params []compiledParam, sizes *rowSizes, resourceType string, body []byte) (*Index, error) {
	root, err := fhirjson.DecodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("searchparam: decode %s: %w", resourceType, err)
	}
	if rt, _ := root["resourceType"].(string); rt != resourceType {
		return nil, fmt.Errorf("searchparam: the body's resourceType is %q, not %q", rt, resourceType)
	}
	st := &extraction{x: &Index{ResourceType: resourceType}, root: root, body: body}
	st.x.ID, _ = root["id"].(string)
	if sizes != nil {
		sizes.make(st.x)
	}
	for i := range params {
		if err := st.param(&params[i]); err != nil {
			return nil, err
		}
	}
	if sizes != nil {
		sizes.note(st.x)
	}
	return st.x, nil
}

// extraction is the state of one Extract call.
type extraction struct {
	x       *Index
	root    map[string]any
	body    []byte
	groups  int // composite groups used so far
	vals    []any
	compVal []any
	scratch [2][]any
}

// compiledParam is a Param with its expressions ready to evaluate.
type compiledParam struct {
	*Param
	expr       compiledExpr
	components []compiledExpr
}

// compiledExpr is a union of fast paths or, when any part is not a plain
// path, one expression for the FHIRPath engine.
type compiledExpr struct {
	fast []fastPath
	slow *slowExpr
}

var compiled sync.Map // resource type → []compiledParam

func compiledFor(resourceType string) ([]compiledParam, error) {
	if c, ok := compiled.Load(resourceType); ok {
		return c.([]compiledParam), nil
	}
	c, err := compileType(resourceType, false)
	if err != nil {
		return nil, err
	}
	compiled.Store(resourceType, c)
	return c, nil
}

// compileType compiles the parameters of one type; slowOnly sends every
// expression to the FHIRPath engine, which tests use to check the fast path.
func compileType(resourceType string, slowOnly bool) ([]compiledParam, error) {
	ps := ForType(resourceType)
	if ps == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownType, resourceType)
	}
	out := make([]compiledParam, 0, len(ps))
	for _, p := range ps {
		if p.Expression == "" || p.Type == Special {
			continue
		}
		cp := compiledParam{Param: p}
		var err error
		if cp.expr, err = compileExpr(p.Expression, slowOnly); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", resourceType, p.Code, err)
		}
		for _, comp := range p.Components {
			ce, err := compileExpr(comp.Expression, slowOnly)
			if err != nil {
				return nil, fmt.Errorf("%s.%s component %s: %w", resourceType, p.Code, comp.Code, err)
			}
			cp.components = append(cp.components, ce)
		}
		out = append(out, cp)
	}
	return out, nil
}

func compileExpr(src string, slowOnly bool) (compiledExpr, error) {
	if !slowOnly {
		var fast []fastPath
		for _, part := range union.Split(src) {
			p, err := parseFast(part)
			if err != nil {
				fast = nil
				break
			}
			fast = append(fast, p)
		}
		if fast != nil {
			return compiledExpr{fast: fast}, nil
		}
	}
	slow, err := compileSlow(src)
	if err != nil {
		return compiledExpr{}, err
	}
	return compiledExpr{slow: slow}, nil
}

// eval returns the values of the expression on node; raw is node's JSON when
// the caller has it, nil otherwise.
func (c compiledExpr) eval(resourceType string, node any, raw []byte, out []any, scratch *[2][]any) ([]any, error) {
	if c.slow == nil {
		for _, p := range c.fast {
			out = p.eval(resourceType, node, out, scratch)
		}
		return out, nil
	}
	if raw == nil {
		var err error
		if raw, err = json.Marshal(node); err != nil {
			return out, err
		}
	}
	vals, err := c.slow.eval(raw)
	return append(out, vals...), err
}

func (st *extraction) param(cp *compiledParam) error {
	var err error
	st.vals, err = cp.expr.eval(st.x.ResourceType, st.root, st.body, st.vals[:0], &st.scratch)
	if err != nil {
		return fmt.Errorf("%s.%s: %w", st.x.ResourceType, cp.Code, err)
	}
	if cp.Type == Composite {
		for _, el := range st.vals {
			if err := st.composite(cp, el); err != nil {
				return err
			}
		}
		return nil
	}
	k := rowKey{param: cp.Code}
	for _, v := range st.vals {
		st.x.add(cp.Type, k, v)
	}
	return nil
}

func (x *Index) add(t Type, k rowKey, v any) {
	switch t {
	case String:
		x.addString(k, v)
	case Token:
		x.addToken(k, v)
	case Reference:
		x.addReference(k, v)
	case Date:
		x.addDate(k, v)
	case Number:
		x.addNumber(k, v)
	case Quantity:
		x.addQuantity(k, v)
	case URI:
		x.addURI(k, v)
	}
}

// composite adds the rows of one element of a composite parameter under a
// new group, or nothing when a component has no value (it could never match).
func (st *extraction) composite(cp *compiledParam, el any) error {
	x := st.x
	saved := *x
	st.groups++
	k := rowKey{param: cp.Code, group: st.groups}
	for i, comp := range cp.components {
		var err error
		st.compVal, err = comp.eval(x.ResourceType, el, nil, st.compVal[:0], &st.scratch)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", x.ResourceType, cp.Code, err)
		}
		before := x.rowCount()
		k.component = i
		for _, v := range st.compVal {
			x.add(cp.Components[i].Type, k, v)
		}
		if x.rowCount() == before {
			x.truncate(saved)
			st.groups--
			return nil
		}
	}
	return nil
}

func (x *Index) rowCount() int {
	return len(x.Strings) + len(x.Tokens) + len(x.References) + len(x.Dates) +
		len(x.Numbers) + len(x.Quantities) + len(x.URIs)
}

func (x *Index) truncate(to Index) {
	x.Strings, x.Tokens, x.References = x.Strings[:len(to.Strings)], x.Tokens[:len(to.Tokens)], x.References[:len(to.References)]
	x.Dates, x.Numbers, x.Quantities = x.Dates[:len(to.Dates)], x.Numbers[:len(to.Numbers)], x.Quantities[:len(to.Quantities)]
	x.URIs = x.URIs[:len(to.URIs)]
}
