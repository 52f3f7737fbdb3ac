package fhirapi

import (
	"strings"

	"hpsandbox/fhirstore/interaction"
)

// everything serves GET Patient/[id]/$everything as a paged searchset
// (interaction.Engine.Everything says what it holds).
func (a *API) everything(r *request, segs []string) {
	params := r.c.Request.URL.Query()
	ev, err := a.engine.Everything(r.c.Request.Context(), &interaction.EverythingRequest{
		Sandbox: r.sandbox, Base: r.base(), Type: r.typ, ID: r.id, Params: params})
	if err != nil {
		writeError(r.c, err)
		return
	}
	b, err := searchset(r, r.base()+"/"+strings.Join(segs, "/"), params, ev.Query, ev.Page, ev.Referenced)
	if err != nil {
		writeError(r.c, err)
		return
	}
	writeBundle(r, b)
}
