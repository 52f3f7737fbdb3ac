package profile

import (
	"context"
	"regexp"
	"strings"
	"sync"

	"github.com/gofhir/fhirpath"
	"github.com/gofhir/fhirpath/eval"
	"github.com/gofhir/fhirpath/types"

	"hpsandbox/fhirstore/outcome"
)

// expressions caches compiled invariant expressions; the core definitions
// hold a few hundred distinct ones.
var expressions sync.Map // string → *fhirpath.Expression or error

func compileExpr(src string) (*fhirpath.Expression, error) {
	if v, ok := expressions.Load(src); ok {
		if e, ok := v.(*fhirpath.Expression); ok {
			return e, nil
		}
		return nil, v.(error)
	}
	// trace() returns its input; the engine also prints it to stdout.
	e, err := fhirpath.Compile(traceCall.ReplaceAllString(src, ""))
	if err != nil {
		expressions.Store(src, err)
		return nil, err
	}
	expressions.Store(src, e)
	return e, nil
}

var traceCall = regexp.MustCompile(`\.trace\(\s*'[^']*'(\s*,[^()]*)?\)`)

// native are invariants the walker checks itself, faster and without the
// FHIRPath engine: ele-1 (an element has a value or children) is checked
// for every object; per-1 compares dates of different precision, which the
// engine refuses to; txt-1 and txt-2 call htmlChecks(), which it lacks
// (the narrative's XHTML is checked with its primitive type, and txt-2 here).
var native = map[string]bool{"ele-1": true, "per-1": true, "txt-1": true, "txt-2": true}

// constraints evaluates an element's invariants on one occurrence. A
// profile pass skips the invariants of the specification's own types, which
// the base pass has evaluated.
func (r *run) constraints(it item, el *Element, path pathID, strict bool, ctx *resourceCtx) {
	if it.v == nil {
		return
	}
	for i := range el.Constraint {
		c := &el.Constraint[i]
		if c.Key == "per-1" && strings.HasPrefix(c.Source, CorePrefix) || c.Key == "per-1" && c.Source == "" {
			if !periodOrdered(it.v) {
				r.add(severityOf(c), outcome.Invariant, path, c.Key, "Constraint failed: %s: '%s'", c.Key, c.Human)
			}
			continue
		}
		if c.Key == "txt-2" && it.v.kind == kString && !r.narrativeContent(it.v.str) {
			r.failed(c, path)
		}
		if c.Expression == "" || native[c.Key] {
			continue
		}
		if !strict && r.d.coreSource(c.Source) {
			continue
		}
		r.invariant(it, el, c, path, ctx)
	}
}

func (r *run) invariant(it item, el *Element, c *Constraint, path pathID, ctx *resourceCtx) {
	if it.v.kind == kObject {
		if holds, ok := coreGuard(c, it.v); ok {
			if !holds {
				r.failed(c, path)
			}
			return
		}
	}
	sh := shapeOf(c.Expression)
	if sh.local && it.v.kind == kObject && !sh.reads(it.v) {
		if holds, ok := holdsOnEmpty(c.Expression, engineType(it, el)); ok {
			if !holds {
				r.failed(c, path)
			}
			return
		}
	}
	expr, err := compileExpr(c.Expression)
	if err != nil {
		r.add(outcome.Information, outcome.Informational, path, c.Key,
			"The invariant %s could not be checked: its expression does not compile here (%v)", c.Key, err)
		return
	}
	var focus, res, root []byte
	var key memoKey
	if sh.projectable {
		var resV, rootV *jvalue
		if ctx != nil && sh.vars {
			resV, rootV = ctx.value, ctx.root().value
		}
		key = sh.key(c.Expression, engineType(it, el), it.v, resV, rootV)
		if holds, ok := memo.get(key); ok {
			if !holds {
				r.failed(c, path)
			}
			return
		}
		focus = sh.project(it.v)
		if resV != nil {
			res, root = sh.project(resV), sh.project(rootV)
		}
	} else {
		focus = it.v.raw
	}
	ectx := eval.NewContext(focus)
	ectx.SetModel(coreModel)
	if it.v.kind == kObject {
		ectx = ectx.WithThis(types.Collection{types.NewObjectValueWithType(focus, engineType(it, el))})
	}
	if ctx != nil {
		if sh.projectable {
			if res == nil {
				res, root = []byte("{}"), []byte("{}")
			}
			ectx.SetVariable("resource", types.Collection{types.NewObjectValue(res)})
			ectx.SetVariable("rootResource", types.Collection{types.NewObjectValue(root)})
		} else {
			ectx.SetVariable("resource", ctx.collection())
			ectx.SetVariable("rootResource", ctx.root().collection())
		}
	}
	ectx.SetResolver(bundleResolver{ctx: ctx})
	for name, value := range environment {
		ectx.SetVariable(name, value)
	}
	col, err := expr.EvaluateWithContext(ectx)
	if err != nil {
		// Said once per invariant: the engine fails the same way everywhere.
		if r.unchecked == nil {
			r.unchecked = map[string]bool{}
		}
		if !r.unchecked[c.Key] {
			r.unchecked[c.Key] = true
			r.add(outcome.Information, outcome.Informational, path, c.Key,
				"The invariant %s could not be checked here: %v", c.Key, err)
		}
		return
	}
	// An invariant that evaluates to nothing holds (ref-1 on a Reference
	// without a reference), as in HL7's validator.
	holds := len(col) == 0
	if b, ok := col[0:min(1, len(col))], len(col) == 1; ok {
		if v, isBool := b[0].(types.Boolean); isBool && v.Bool() {
			holds = true
		}
	}
	if sh.projectable {
		memo.put(key, holds)
	}
	if holds {
		return
	}
	r.failed(c, path)
}

// environment are the constants FHIR's invariants may name (%ucum …).
var environment = map[string]types.Collection{
	"ucum":  {types.NewString("http://unitsofmeasure.org")},
	"sct":   {types.NewString("http://snomed.info/sct")},
	"loinc": {types.NewString("http://loinc.org")},
}

// failed reports a broken invariant.
func (r *run) failed(c *Constraint, path pathID) {
	human := c.Human
	if human == "" {
		human = c.Expression
	}
	r.add(severityOf(c), outcome.Invariant, path, c.Key, "Constraint failed: %s: '%s'", c.Key, human)
}

// collection is the resource as a FHIRPath collection, for %resource.
func (c *resourceCtx) collection() types.Collection {
	if c.coll == nil {
		c.coll, _ = types.JSONToCollection(c.value.raw)
	}
	return c.coll
}

// coreSource reports whether an invariant comes from a type of the
// specification itself rather than a profile.
func (d *Definitions) coreSource(source string) bool {
	if !strings.HasPrefix(source, CorePrefix) {
		return false
	}
	c, err := Core().compile(source)
	return err == nil && c.core
}

// bundleResolver resolves references for resolve() within the resource's
// own Bundle or contained resources; other references resolve to nothing.
type bundleResolver struct{ ctx *resourceCtx }

func (b bundleResolver) Resolve(_ context.Context, reference string) ([]byte, error) {
	if b.ctx == nil {
		return nil, nil
	}
	if v := b.ctx.resolve(reference); v != nil {
		return v.raw, nil
	}
	return nil, nil
}

func severityOf(c *Constraint) outcome.Severity {
	if c.Severity == "warning" {
		return outcome.Warning
	}
	return outcome.ErrorLevel
}

// engineType is the type the FHIRPath engine is told an object has: its
// resource type, its data type, or for a backbone element its path, which
// the model knows.
func engineType(it item, el *Element) string {
	if rt := it.v.get("resourceType"); rt != nil && rt.kind == kString {
		return rt.str
	}
	switch it.typ {
	case "", "BackboneElement", "Element":
		return el.Path
	}
	return it.typ
}
