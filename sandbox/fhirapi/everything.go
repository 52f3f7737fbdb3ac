package fhirapi

import (
	"context"
	"strings"

	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/search"
)

// everything serves GET Patient/[id]/$everything as a paged searchset
// (interaction.Engine.Everything says what it holds).
func (a *API) everything(r *request, segs []string) {
	params := r.c.Request.URL.Query()
	ev, err := a.engine.Everything(r.c.Request.Context(), &interaction.EverythingRequest{
		Sandbox: r.sandbox, Base: r.base, Type: r.typ, ID: r.id, Params: params})
	if err != nil {
		writeError(r.c, err)
		return
	}
	b, err := searchset(r, r.base+"/"+strings.Join(segs, "/"), params, ev.Query, ev.Page, ev.Referenced)
	if err != nil {
		writeError(r.c, err)
		return
	}
	writeBundle(r, b)
}

// ConfineEverything returns a context under which
// Patient/[patient]/$everything answers what a token confined to that
// patient's compartment may see (see interaction.Engine.Everything).
//
// Deprecated: set search.ConfineTo with the Patient compartment; the
// engine reads the confinement from there.
func ConfineEverything(ctx context.Context, patient string) context.Context {
	return search.ConfineTo(ctx, &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: patient}})
}
