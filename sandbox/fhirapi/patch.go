package fhirapi

import (
	"errors"
	"mime"
	"net/http"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/jsonpatch"
	"hpsandbox/fhirstore/outcome"
)

// patch serves PATCH [type]/[id] with a JSON Patch document
// (application/json-patch+json). The patched resource is validated as any
// write; a patch that leaves it invalid is refused with 422 and nothing is
// written. The update is conditioned on the version that was patched, so a
// concurrent write is never overwritten.
func (a *API) patch(r *request, _ []string) {
	mt, _, _ := mime.ParseMediaType(r.c.GetHeader("Content-Type"))
	switch mt {
	case "application/json-patch+json":
	case "application/fhir+json", "application/json":
		writeError(r.c, outcome.New(http.StatusUnsupportedMediaType, outcome.NotSupported,
			"FHIRPath Patch is not supported yet; send a JSON Patch as application/json-patch+json"))
		return
	default:
		writeError(r.c, outcome.New(http.StatusUnsupportedMediaType, outcome.NotSupported,
			"PATCH takes application/json-patch+json, not %q", r.c.GetHeader("Content-Type")))
		return
	}
	r.c.Request.Header.Set("Content-Type", "application/json") // for readBody's check
	doc, err := a.readBody(r)
	if err != nil {
		writeError(r.c, err)
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
		patched, err := jsonpatch.Apply(cur.Body, doc)
		switch {
		case errors.Is(err, jsonpatch.ErrInvalid):
			return outcome.New(http.StatusBadRequest, outcome.Invalid, "%v", err)
		case errors.Is(err, jsonpatch.ErrNotApplicable):
			return outcome.New(http.StatusUnprocessableEntity, outcome.Processing, "%v", err)
		case err != nil:
			return err
		}
		res, err := fhirjson.Parse(patched)
		if err != nil {
			oe := outcome.From(err)
			if oe.Status < 500 {
				// The patch was well-formed; its result is what is wrong.
				c := *oe
				c.Status = http.StatusUnprocessableEntity
				return &c
			}
			return err
		}
		if res.Type != r.typ || res.ID != r.id {
			return outcome.New(http.StatusUnprocessableEntity, outcome.BusinessRule,
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
