package interaction

import (
	"context"
	"errors"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/fhirpatch"
	"hpsandbox/fhirstore/jsonpatch"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
)

// PatchFormat is the kind of document a patch sends.
type PatchFormat int

// The patch documents FHIR R4 defines for JSON.
const (
	// FHIRPathPatch is a Parameters resource of FHIRPath Patch operations
	// (application/fhir+json).
	FHIRPathPatch PatchFormat = iota
	// JSONPatch is an RFC 6902 JSON Patch (application/json-patch+json).
	JSONPatch
)

// Write is one write interaction, as the HTTP API and Bundle entries ask
// for it.
type Write struct {
	// Kind is Create, Update, ConditionalUpdate, Patch, Delete or
	// ConditionalDelete.
	Kind    Kind
	Sandbox fhirstore.Sandbox
	// Base is the absolute FHIR base URL the request came through, against
	// which search criteria resolve references; Config.BaseURL when empty.
	Base string
	// Type and ID are those of the URL; a Create without a Type takes the
	// body's.
	Type, ID string
	// Body is the resource of a create or update, the patch document of a
	// patch.
	Body  []byte
	Patch PatchFormat
	// Criteria is the search (a query string) of a ConditionalUpdate or
	// ConditionalDelete, IfNoneExist that of a conditional Create.
	Criteria, IfNoneExist string
	// IfMatch is the version an Update or Patch requires to be current; 0
	// requires none.
	IfMatch int64
}

// Result is what a write did.
type Result struct {
	// Resource is the version written: the new one, the existing one a
	// conditional create found, or the deletion (nil when a delete found
	// nothing to delete).
	Resource *fhirstore.Resource
	// Created says a create or update made a new resource; Existing that a
	// conditional create found one and made none.
	Created, Existing bool
	// Deleted is how many resources a delete removed.
	Deleted int
}

// Write performs w in one store transaction.
func (e *Engine) Write(ctx context.Context, w *Write) (*Result, error) {
	base := e.base(w.Base)
	if w.Type == "" && w.Kind != Create {
		return nil, outcome.New(outcome.Incorrect, outcome.Required, "a %s names the resource type", w.Kind)
	}
	out := &Result{}
	var res *fhirjson.Resource
	if w.Kind == Create || w.Kind == Update || w.Kind == ConditionalUpdate {
		var err error
		if res, err = parseBody(w.Body, w.Type); err != nil {
			return nil, err
		}
		if w.Type == "" && w.Kind == Create {
			w.Type = res.Type
		}
		// Judged before the transaction, so that the single writer is not
		// held while the validator works; a conditional create that would
		// find its resource is judged too.
		conf, err := e.conformance(ctx, w.Sandbox)
		if err != nil {
			return nil, err
		}
		if err := conf.check(res.Type, res.Body); err != nil {
			return nil, err
		}
	}
	if w.Kind == Update {
		if err := checkUpdateID(w.Type, w.ID, res); err != nil {
			return nil, err
		}
	}
	if alone(ctx, w) {
		out, err := e.writeAlone(ctx, w, res)
		e.wrote(w.Sandbox, w.Type)
		if err != nil {
			return nil, StoreError(err, w.Type, w.ID)
		}
		return out, nil
	}
	var fn func(tx fhirstore.Tx) error
	id := w.ID
	switch w.Kind {
	case Create:
		fn = func(tx fhirstore.Tx) (err error) {
			if w.IfNoneExist != "" {
				if out.Resource, err = matchOne(ctx, tx, w.Sandbox, base, w.Type, w.IfNoneExist); err != nil || out.Resource != nil {
					out.Existing = out.Resource != nil
					return err
				}
			}
			// The specification says a server ignores an id in a create's body.
			out.Resource, err = createIn(ctx, tx, w.Sandbox, res, "")
			out.Created = err == nil
			return err
		}
	case Update:
		fn = func(tx fhirstore.Tx) (err error) {
			out.Resource, out.Created, err = updateIn(ctx, tx, w.Sandbox, res, w.IfMatch)
			return err
		}
	case ConditionalUpdate:
		fn = func(tx fhirstore.Tx) error {
			found, err := matchOne(ctx, tx, w.Sandbox, base, w.Type, w.Criteria)
			if err != nil {
				return err
			}
			if id, err = updateTarget(w.Type, found, res.ID); err != nil {
				return err
			}
			if id == "" {
				out.Resource, err = createIn(ctx, tx, w.Sandbox, res, "")
				out.Created = err == nil
				return err
			}
			res.ID = id
			out.Resource, out.Created, err = updateIn(ctx, tx, w.Sandbox, res, w.IfMatch)
			return err
		}
	case Patch:
		return e.patch(ctx, w)
	case Delete:
		fn = func(tx fhirstore.Tx) (err error) {
			out.Resource, err = deleteIn(ctx, tx, w.Sandbox, w.Type, w.ID)
			if out.Resource != nil {
				out.Deleted = 1
			}
			return err
		}
	case ConditionalDelete:
		fn = func(tx fhirstore.Tx) (err error) {
			out.Resource, out.Deleted, err = deleteMatches(ctx, tx, w.Sandbox, base, w.Type, w.Criteria, e.cfg.ConditionalDeleteMax)
			return err
		}
	default:
		return nil, outcome.New(outcome.Fault, outcome.Exception, "%s is not a write", w.Kind)
	}
	err := e.store.Tx(ctx, fn)
	e.wrote(w.Sandbox, w.Type)
	if err != nil {
		return nil, StoreError(err, w.Type, id)
	}
	return out, nil
}

// alone reports whether w is one write that needs no reads in its
// transaction: a create without If-None-Exist or an update by id, not
// confined to a compartment (which would check what it may see).
func alone(ctx context.Context, w *Write) bool {
	return (w.Kind == Create && w.IfNoneExist == "" || w.Kind == Update) && search.ConfinementOf(ctx) == nil
}

// writeAlone performs a write that alone reports true of through the
// store's own Create or Update rather than a Tx: a store may then do the
// work that needs no writer (index extraction) on this goroutine before
// the write is queued, where in a Tx the single writer would wait for it.
func (e *Engine) writeAlone(ctx context.Context, w *Write, res *fhirjson.Resource) (*Result, error) {
	out := &Result{}
	var err error
	if w.Kind == Create {
		// The specification says a server ignores an id in a create's body.
		out.Resource, err = e.store.Create(ctx, w.Sandbox, res, "")
		out.Created = err == nil
		return out, err
	}
	out.Resource, out.Created, err = e.store.Update(ctx, w.Sandbox, res, fhirstore.UpdateOptions{IfMatch: w.IfMatch})
	return out, err
}

// parseBody validates the resource of a create or update, which must be of
// the type of the URL.
func parseBody(body []byte, typ string) (*fhirjson.Resource, error) {
	res, err := fhirjson.Parse(body)
	if err != nil {
		return nil, err
	}
	if res.Type != typ && typ != "" {
		return nil, outcome.New(outcome.Incorrect, outcome.Invalid,
			"resource type %s in the body does not match %s in the URL", res.Type, typ).At("resourceType")
	}
	return res, nil
}

// createIn creates res in tx under id (a new one when empty).
func createIn(ctx context.Context, tx fhirstore.Tx, sandbox fhirstore.Sandbox, res *fhirjson.Resource, id string) (*fhirstore.Resource, error) {
	v, err := tx.Create(ctx, sandbox, res, id)
	if err != nil {
		return nil, err
	}
	if err := visible(ctx, tx, sandbox, v.Type, v.ID); err != nil {
		return nil, err
	}
	return v, nil
}

// updateIn stores res as the next version of res.Type/res.ID in tx,
// requiring version ifMatch to be current when it is not 0.
func updateIn(ctx context.Context, tx fhirstore.Tx, sandbox fhirstore.Sandbox, res *fhirjson.Resource, ifMatch int64) (*fhirstore.Resource, bool, error) {
	if err := replaced(ctx, tx, sandbox, res.Type, res.ID); err != nil {
		return nil, false, err
	}
	v, created, err := tx.Update(ctx, sandbox, res, fhirstore.UpdateOptions{IfMatch: ifMatch})
	if err != nil {
		return nil, false, err
	}
	if err := visible(ctx, tx, sandbox, v.Type, v.ID); err != nil {
		return nil, false, err
	}
	return v, created, nil
}

// deleteIn deletes typ/id in tx; nil when there was nothing to delete.
func deleteIn(ctx context.Context, tx fhirstore.Tx, sandbox fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	if err := replaced(ctx, tx, sandbox, typ, id); err != nil {
		return nil, err
	}
	return tx.Delete(ctx, sandbox, typ, id)
}

// patch applies a JSON Patch or FHIRPath Patch to the current version of
// w.Type/w.ID. The patched resource is validated as any write; a patch
// that leaves it invalid fails as outcome.Unprocessable and nothing is
// written. The update is conditioned on the version that was patched, so a
// concurrent write is never overwritten.
func (e *Engine) patch(ctx context.Context, w *Write) (*Result, error) {
	apply := fhirpatch.Apply
	if w.Patch == JSONPatch {
		apply = jsonpatch.Apply
	}
	if oe := fhirjson.CheckJSON(w.Body); oe != nil {
		return nil, oe
	}
	conf, err := e.conformance(ctx, w.Sandbox)
	if err != nil {
		return nil, err
	}
	defer e.wrote(w.Sandbox, w.Type)
	out := &Result{}
	err = e.store.Tx(ctx, func(tx fhirstore.Tx) error {
		cur, err := tx.Read(ctx, w.Sandbox, w.Type, w.ID)
		if err != nil {
			return StoreError(err, w.Type, w.ID)
		}
		if w.IfMatch != 0 && w.IfMatch != cur.Version {
			return StoreError(fhirstore.ErrVersionConflict, w.Type, w.ID)
		}
		patched, err := apply(cur.Body, w.Body)
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
		if res.Type != w.Type || res.ID != w.ID {
			return outcome.New(outcome.Unprocessable, outcome.BusinessRule,
				"a patch may not change resourceType or id")
		}
		if err := conf.check(res.Type, res.Body); err != nil {
			return err
		}
		out.Resource, _, err = updateIn(ctx, tx, w.Sandbox, res, cur.Version)
		return err
	})
	if err != nil {
		return nil, StoreError(err, w.Type, w.ID)
	}
	return out, nil
}
