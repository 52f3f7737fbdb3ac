package fhirapi

import (
	"errors"
	"mime"
	"net/http"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/fhirpatch"
	"hpsandbox/fhirstore/jsonpatch"
	"hpsandbox/fhirstore/outcome"
)

// patcher applies a patch document of one media type to a resource.
type patcher func(resource, patch []byte) ([]byte, error)

// patch serves PATCH [type]/[id] with a JSON Patch document
// (application/json-patch+json) or a FHIRPath Patch Parameters resource
// (application/fhir+json). The patched resource is validated as any write;
// a patch that leaves it invalid is refused with 422 and nothing is
// written. The update is conditioned on the version that was patched, so a
// concurrent write is never overwritten.
func (a *API) patch(r *request, _ []string) {
	mt, _, _ := mime.ParseMediaType(r.c.GetHeader("Content-Type"))
	var apply patcher
	switch mt {
	case "application/json-patch+json":
		apply = jsonpatch.Apply
	case "application/fhir+json", "application/json", "":
		apply = fhirpatch.Apply
	default:
		writeError(r.c, outcome.New(outcome.UnsupportedMedia, outcome.NotSupported,
			"PATCH takes application/json-patch+json (JSON Patch) or application/fhir+json (FHIRPath Patch), not %q", r.c.GetHeader("Content-Type")))
		return
	}
	r.c.Request.Header.Set("Content-Type", "application/json") // for readBody's check
	doc, err := a.readBody(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	if oe := fhirjson.CheckJSON(doc); oe != nil {
		writeError(r.c, oe)
		return
	}
	ifMatch, err := updateOptions(r.c.GetHeader("If-Match"))
	if err != nil {
		writeError(r.c, err)
		return
	}
	ctx := r.c.Request.Context()
	var v *fhirstore.Resource
	err = a.store.Tx(ctx, func(tx fhirstore.Tx) error {
		cur, err := tx.Read(ctx, r.sandbox, r.typ, r.id)
		if err != nil {
			return storeError(err, r.typ, r.id)
		}
		if ifMatch.IfMatch != 0 && ifMatch.IfMatch != cur.Version {
			return storeError(fhirstore.ErrVersionConflict, r.typ, r.id)
		}
		patched, err := apply(cur.Body, doc)
		switch {
		case errors.Is(err, jsonpatch.ErrInvalid), errors.Is(err, fhirpatch.ErrInvalid):
			return outcome.New(outcome.Incorrect, outcome.Invalid, "%v", err)
		case errors.Is(err, jsonpatch.ErrNotApplicable), errors.Is(err, fhirpatch.ErrNotApplicable):
			return outcome.New(outcome.Unprocessable, outcome.Processing, "%v", err)
		case err != nil:
			return err
		}
		res, err := fhirjson.Parse(patched)
		if err != nil {
			oe := outcome.From(err)
			if !oe.Category.Server() {
				// The patch was well-formed; its result is what is wrong.
				c := *oe
				c.Category = outcome.Unprocessable
				return &c
			}
			return err
		}
		if res.Type != r.typ || res.ID != r.id {
			return outcome.New(outcome.Unprocessable, outcome.BusinessRule,
				"a patch may not change resourceType or id")
		}
		v, _, err = tx.Update(ctx, r.sandbox, res, fhirstore.UpdateOptions{IfMatch: cur.Version})
		return err
	})
	if err != nil {
		writeError(r.c, storeError(err, r.typ, r.id))
		return
	}
	a.written(r, v, http.StatusOK, "patched")
}
