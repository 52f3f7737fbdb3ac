package search

import (
	"context"
	"slices"
)

// Confinement limits what a search may read, not only what it returns: a
// resource of one of Types is seen only when it lies in Compartment, a
// resource of a constrained type only when it matches one of its
// Constraints, and a resource of an Excluded type never. A store applies
// it to the matches, to every resource a chain (subject:Patient.name) or a
// _has reads to decide them, to counts, and to what _include and
// _revinclude add, so that a search can never observe a resource the
// searcher could not read.
//
// The access guard sets it for tokens confined to a patient's compartment
// or by SMART v2 scope constraints: without it,
// `Observation?_id=mine&focus:Patient.birthdate=ge2001` would answer one
// match or none depending on another patient's birth date.
type Confinement struct {
	// Compartment is the compartment resources of Types must lie in; its
	// zero value confines to no compartment.
	Compartment Compartment
	// Types are the resource types the compartment applies to; nil means
	// every type.
	Types []string
	// Base, when set, is the server's FHIR base: a reference by absolute
	// URL puts a resource in the compartment only when it is under Base
	// (another server's Patient/1 is not this one's). Relative references
	// always count. When empty, any reference counts, as in a compartment
	// search.
	Base string
	// Excluded are types the searcher may not read at all: no resource of
	// them is seen, in any compartment. They win over Types.
	Excluded []string
	// Constraints limit the resources of a type to those matching at
	// least one of its alternatives (SMART v2 scopes such as
	// patient/Observation.rs?category=laboratory, or
	// ?category=vital-signs); a type without an entry is not constrained,
	// and one with an empty list matches nothing. They hold in and out of
	// the compartment.
	Constraints map[string][]Constraint
}

// Constraint is one alternative of a type's constraints: a resource meets
// it when it matches every filter, as the filters of a search.
type Constraint []*Filter

// Applies reports whether resources of typ are confined to the
// compartment.
func (c *Confinement) Applies(typ string) bool {
	return c != nil && c.Compartment.Type != "" && !c.Excludes(typ) && (c.Types == nil || slices.Contains(c.Types, typ))
}

// Excludes reports whether resources of typ are never seen.
func (c *Confinement) Excludes(typ string) bool {
	return c != nil && slices.Contains(c.Excluded, typ)
}

// ConstraintsOf returns the alternatives resources of typ must match, and
// whether typ is constrained at all.
func (c *Confinement) ConstraintsOf(typ string) ([]Constraint, bool) {
	if c == nil || c.Excludes(typ) {
		return nil, false
	}
	cs, ok := c.Constraints[typ]
	return cs, ok
}

// Limits reports whether the confinement limits resources of typ in any
// way: excluded, confined to the compartment, or constrained.
func (c *Confinement) Limits(typ string) bool {
	_, constrained := c.ConstraintsOf(typ)
	return c.Excludes(typ) || c.Applies(typ) || constrained
}

type confineKey struct{}

// ConfineTo returns a context under which every search a store runs is
// confined by c (a nil c leaves ctx as it is).
func ConfineTo(ctx context.Context, c *Confinement) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, confineKey{}, c)
}

// ConfinementOf returns the confinement ctx carries, or nil.
func ConfinementOf(ctx context.Context) *Confinement {
	c, _ := ctx.Value(confineKey{}).(*Confinement)
	return c
}

// Unconfined returns a context under which searches are not confined,
// whatever ctx carries: for a check that must know whether something
// exists at all.
func Unconfined(ctx context.Context) context.Context {
	if ConfinementOf(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, confineKey{}, (*Confinement)(nil))
}
