package fhirapi

import (
	"net/http"

	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

// operation is the handler of a routed $operation.
func (a *API) operation(in *interaction.Request) handler {
	switch in.Operation {
	case "$export-status":
		return a.exportStatus
	case "$export-file":
		return a.exportFile
	case "$export":
		return a.exportKickOff
	case "$meta", "$meta-add", "$meta-delete":
		return a.meta
	case "$everything":
		return a.everything
	case "$validate":
		return a.validate
	}
	return func(r *request, _ []string) {
		writeError(r.c, outcome.New(outcome.Unimplemented, outcome.NotSupported, "operation %s is not supported", in.Operation))
	}
}

// meta serves [type]/[id](/_history/[vid])/$meta, $meta-add and
// $meta-delete (interaction.Engine.Meta).
func (a *API) meta(r *request, _ []string) {
	req := &interaction.MetaRequest{Sandbox: r.sandbox, Type: r.typ, ID: r.id, Version: r.in.Version, Operation: r.in.Operation}
	if req.Operation != "$meta" {
		data, err := a.readBody(r)
		if err != nil {
			writeError(r.c, err)
			return
		}
		req.Body = data
	}
	out, err := a.engine.Meta(r.c.Request.Context(), req)
	if err != nil {
		writeError(r.c, err)
		return
	}
	writeBody(r.c, http.StatusOK, out)
}

// validate serves [type]/$validate and [type]/[id]/$validate: the body, a
// resource or a Parameters with a "resource" parameter, is validated as a
// write would be, and nothing is written. The answer is 200 with an
// OperationOutcome whether or not the resource is valid; a request the
// operation cannot run is a 4xx.
func (a *API) validate(r *request, _ []string) {
	data, err := a.readBody(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	issues, err := a.engine.Validate(r.c.Request.Context(), &interaction.ValidateRequest{
		Sandbox: r.sandbox, Type: r.typ, ID: r.id, Body: data, Mode: r.c.Query("mode"),
		Profiles: r.c.QueryArray("profile")})
	if err != nil {
		writeError(r.c, err)
		return
	}
	writeBody(r.c, http.StatusOK, outcome.JSON(issues))
}

// bundle serves POST [base] with a transaction or batch Bundle.
func (a *API) bundle(r *request, _ []string) {
	data, err := a.readBody(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	out, err := a.engine.Bundle(r.c.Request.Context(), &interaction.BundleRequest{Sandbox: r.sandbox, Base: r.base(), Body: data,
		Representation: r.c.GetHeader("Prefer") != "" && preferReturn(r.c) == returnRepresentation})
	if err != nil {
		writeError(r.c, err)
		return
	}
	writeBody(r.c, http.StatusOK, out)
}
