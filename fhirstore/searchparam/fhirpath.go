package searchparam

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gofhir/fhirpath"
	"github.com/gofhir/fhirpath/eval"
	"github.com/gofhir/fhirpath/types"

	"hpsandbox/fhirstore/fhirjson"
)

// This file is the one place that talks to the FHIRPath engine; its defects
// are worked around here (see fhirpath_test.go for the pinned behaviour):
//
//   - resolve() needs a resolver; search only asks `resolve() is T`, which the
//     reference's own type answers, so typeResolver returns a stub resource of
//     that type instead of reading the store.
//   - Values come back as engine types that lose what JSON said (a decimal's
//     trailing zeros); numbers are therefore read back from the element's JSON
//     where the engine hands an object, and engine decimals are used only
//     where an expression computes one.
//   - Comparing a dateTime with a date literal errors and `~` on quantities is
//     false; no search expression of the specification does either, and an
//     expression that fails is reported as an error, never indexed half-way.

// slowExpr is an expression that needs the general FHIRPath engine.
type slowExpr struct {
	expr *fhirpath.Expression
}

func compileSlow(src string) (*slowExpr, error) {
	e, err := fhirpath.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("searchparam: compile %q: %w", src, err)
	}
	return &slowExpr{expr: e}, nil
}

// eval evaluates on the element JSON and returns values in the form the fast
// path gives (decoded JSON).
func (s *slowExpr) eval(element []byte) ([]any, error) {
	ctx := eval.NewContext(element)
	ctx.SetResolver(typeResolver{})
	col, err := s.expr.EvaluateWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("searchparam: evaluate %q: %w", s.expr.String(), err)
	}
	out := make([]any, 0, len(col))
	for _, v := range col {
		if j := fromEngine(v); j != nil {
			out = append(out, j)
		}
	}
	return out, nil
}

func fromEngine(v types.Value) any {
	switch v := v.(type) {
	case *types.ObjectValue:
		m, err := fhirjson.DecodeObject(v.Data())
		if err != nil {
			return nil
		}
		return m
	case types.String:
		return v.Value()
	case types.Boolean:
		return v.Bool()
	case types.Integer:
		return json.Number(strconv.FormatInt(v.Value(), 10))
	case types.Decimal:
		return json.Number(v.String())
	case types.Date, types.DateTime, types.Time:
		return v.String()
	}
	return nil
}

// typeResolver answers resolve() with a stub of the referenced type, which is
// all `resolve() is T` needs.
type typeResolver struct{}

func (typeResolver) Resolve(_ context.Context, ref string) ([]byte, error) {
	r, ok := parseReference(ref)
	if !ok || r.typ == "" {
		return nil, fmt.Errorf("searchparam: cannot resolve %q", ref)
	}
	return json.Marshal(map[string]string{"resourceType": r.typ, "id": r.id})
}
