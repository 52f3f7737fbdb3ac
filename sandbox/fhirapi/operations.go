package fhirapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"hpsandbox/fhirstore/fhirjson"
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
	case "$meta":
		return a.metaRead
	case "$meta-add", "$meta-delete":
		return a.metaChange
	case "$everything":
		return a.everything
	case "$validate":
		return a.validate
	}
	return func(r *request, _ []string) {
		writeError(r.c, outcome.New(outcome.Unimplemented, outcome.NotSupported, "operation %s is not supported", in.Operation))
	}
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
	mode := r.c.Query("mode")
	data, paramMode, err := unwrapValidateParameters(data, r.typ)
	if err != nil {
		writeError(r.c, err)
		return
	}
	if paramMode != "" {
		mode = paramMode
	}
	switch mode {
	case "", "create", "update", "delete":
	default:
		writeError(r.c, outcome.New(outcome.Incorrect, outcome.Value, "mode %q is not create, update or delete", mode).At("mode"))
		return
	}
	if mode == "delete" {
		if r.id == "" {
			writeError(r.c, outcome.New(outcome.Incorrect, outcome.Required, "mode=delete validates [type]/[id]/$validate"))
			return
		}
		if _, err := a.store.Read(r.c.Request.Context(), r.sandbox, r.typ, r.id); err != nil {
			writeError(r.c, storeError(err, r.typ, r.id))
			return
		}
		writeValidation(r, nil, fmt.Sprintf("%s/%s may be deleted", r.typ, r.id))
		return
	}
	res, err := fhirjson.Parse(data)
	if err == nil && res.Type != r.typ {
		err = outcome.New(outcome.Incorrect, outcome.Invalid,
			"resource type %s does not match %s in the URL", res.Type, r.typ).At("resourceType")
	}
	if err == nil && (mode == "update" || r.id != "") {
		id := r.id
		if id == "" {
			id = res.ID
		}
		err = checkUpdateID(r.typ, id, res)
	}
	if err != nil {
		oe := outcome.From(err)
		if oe.Category.Server() {
			writeError(r.c, err)
			return
		}
		writeValidation(r, oe.Issues, "")
		return
	}
	writeValidation(r, nil, fmt.Sprintf("%s is valid FHIR R4", r.typ))
}

func writeValidation(r *request, issues []outcome.Issue, ok string) {
	if len(issues) == 0 {
		issues = []outcome.Issue{{Severity: outcome.Information, Code: outcome.Informational, Diagnostics: ok}}
	}
	writeBody(r.c, http.StatusOK, outcome.JSON(issues))
}

// unwrapValidateParameters returns the resource of a Parameters body (and
// its mode), or the body itself when it is not a Parameters. At
// Parameters/$validate, a Parameters whose parameters are not all inputs
// of $validate (resource, mode, profile) is the resource to validate:
// the specification asks for it to be wrapped, but a Parameters of some
// other operation cannot be mistaken for $validate's own.
func unwrapValidateParameters(data []byte, typ string) ([]byte, string, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name      string          `json:"name"`
			Resource  json.RawMessage `json:"resource"`
			ValueCode string          `json:"valueCode"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.ResourceType != "Parameters" {
		return data, "", nil
	}
	if typ == "Parameters" {
		for _, p := range head.Parameter {
			switch strings.TrimSpace(p.Name) {
			case "resource", "mode", "profile":
			default:
				return data, "", nil
			}
		}
	}
	var res json.RawMessage
	var mode string
	for _, p := range head.Parameter {
		switch strings.TrimSpace(p.Name) {
		case "resource":
			res = p.Resource
		case "mode":
			mode = p.ValueCode
		}
	}
	if res == nil && mode != "delete" {
		return nil, "", outcome.New(outcome.Incorrect, outcome.Required,
			"a Parameters body of $validate needs a parameter named resource").At("Parameters.parameter")
	}
	return res, mode, nil
}
