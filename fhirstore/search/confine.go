package search

import (
	"context"
	"slices"
)

// Confinement limits what a search may read, not only what it returns: a
// resource of one of Types is seen only when it lies in Compartment. A
// store applies it to the matches, to every resource a chain
// (subject:Patient.name) or a _has reads to decide them, and to what
// _include and _revinclude add, so that a search can never observe a
// resource the searcher could not read.
//
// The access guard sets it for tokens confined to a patient's compartment:
// without it, `Observation?_id=mine&focus:Patient.birthdate=ge2001` would
// answer one match or none depending on another patient's birth date.
type Confinement struct {
	Compartment Compartment
	// Types are the resource types the confinement applies to; nil means
	// every type.
	Types []string
	// Excluded are types the searcher may not read at all: no resource of
	// them is seen, in any compartment. They win over Types.
	Excluded []string
}

// Applies reports whether resources of typ are confined to the
// compartment.
func (c *Confinement) Applies(typ string) bool {
	return c != nil && !c.Excludes(typ) && (c.Types == nil || slices.Contains(c.Types, typ))
}

// Excludes reports whether resources of typ are never seen.
func (c *Confinement) Excludes(typ string) bool {
	return c != nil && slices.Contains(c.Excluded, typ)
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
