package fhirapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
)

// DefaultConditionalDeleteMax is how many resources one conditional delete
// may remove when Config sets nothing: one, as HAPI FHIR's default.
const DefaultConditionalDeleteMax = 1

// matches returns up to limit+1 current resources of typ that the search
// criteria (a query string, as in If-None-Exist or PUT Type?criteria)
// select, read through rd (a transaction, so the write that follows cannot
// race). Criteria are required, and parameters the server does not know are
// refused: ignoring one would select more than the client meant.
func (a *API) matches(ctx context.Context, rd fhirstore.Reader, sandbox, base, typ, criteria string, limit int) ([]*fhirstore.Resource, error) {
	params, err := url.ParseQuery(criteria)
	if err != nil {
		return nil, outcome.New(outcome.Incorrect, outcome.Invalid, "search criteria %q: %v", criteria, err)
	}
	if len(params) == 0 {
		return nil, outcome.New(outcome.Incorrect, outcome.Required, "a conditional interaction needs search criteria")
	}
	q, err := search.Parse(typ, params, search.Options{Base: base, DefaultCount: limit + 1, MaxCount: limit + 1})
	if err != nil {
		return nil, err
	}
	if len(q.Ignored) > 0 {
		return nil, outcome.New(outcome.Incorrect, outcome.NotSupported,
			"search parameters %v are not supported, so the condition cannot be evaluated", q.Ignored).At(q.Ignored...)
	}
	q.Count, q.Total = limit+1, search.TotalNone
	q.Include, q.RevInclude, q.Sort = nil, nil, nil
	page, err := rd.Search(ctx, sandbox, fhirstore.SearchQuery{Query: q})
	if err != nil {
		return nil, err
	}
	return page.Matches, nil
}

func tooMany(typ, criteria string) error {
	return outcome.New(outcome.PreconditionFailed, outcome.MultipleMatches,
		"%s?%s matches more than one resource", typ, criteria)
}

// conditionalCreate serves POST [type] with If-None-Exist: the resource is
// created only when the criteria match nothing; one match is answered with
// 200 and that resource, several with 412.
func (a *API) conditionalCreate(r *request, res *fhirjson.Resource, criteria string) {
	ctx := r.c.Request.Context()
	var v *fhirstore.Resource
	created := false
	err := a.store.Tx(ctx, func(tx fhirstore.Tx) error {
		found, err := a.matches(ctx, tx, r.sandbox, r.base, r.typ, criteria, 1)
		switch {
		case err != nil:
			return err
		case len(found) > 1:
			return tooMany(r.typ, criteria)
		case len(found) == 1:
			v = found[0]
			return nil
		}
		v, err = tx.Create(ctx, r.sandbox, res, "")
		created = err == nil
		return err
	})
	if err != nil {
		writeError(r.c, storeError(err, r.typ, ""))
		return
	}
	if created {
		a.written(r, v, http.StatusCreated, "created")
		return
	}
	a.written(r, v, http.StatusOK, "already exists (If-None-Exist) at")
}

// conditionalUpdate serves PUT [type]?criteria: no match creates the
// resource (under its body id, or a new one), one match updates it, several
// are refused with 412.
func (a *API) conditionalUpdate(r *request, _ []string) {
	criteria := r.c.Request.URL.RawQuery
	res, err := a.body(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	opts, err := updateOptions(r.c.GetHeader("If-Match"))
	if err != nil {
		writeError(r.c, err)
		return
	}
	ctx := r.c.Request.Context()
	var v *fhirstore.Resource
	var created bool
	err = a.store.Tx(ctx, func(tx fhirstore.Tx) error {
		found, err := a.matches(ctx, tx, r.sandbox, r.base, r.typ, criteria, 1)
		switch {
		case err != nil:
			return err
		case len(found) > 1:
			return tooMany(r.typ, criteria)
		case len(found) == 1:
			if res.ID != "" && res.ID != found[0].ID {
				return outcome.New(outcome.Incorrect, outcome.Invalid,
					"the criteria select %s/%s but the body has id %q", r.typ, found[0].ID, res.ID).At(r.typ + ".id")
			}
			res.ID = found[0].ID
		case res.ID == "":
			v, err = tx.Create(ctx, r.sandbox, res, "")
			created = true
			return err
		case !fhirjson.ValidID(res.ID):
			// The body's id would become the new resource's address.
			return outcome.New(outcome.Incorrect, outcome.Value,
				"%q cannot name a new resource (%s)", res.ID, fhirjson.IDRule).At(r.typ + ".id")
		}
		v, created, err = tx.Update(ctx, r.sandbox, res, opts)
		return err
	})
	if err != nil {
		writeError(r.c, storeError(err, r.typ, res.ID))
		return
	}
	if created {
		a.written(r, v, http.StatusCreated, "created")
		return
	}
	a.written(r, v, http.StatusOK, "updated")
}

// conditionalDelete serves DELETE [type]?criteria, removing the matches,
// at most Config.ConditionalDeleteMax of them (412 beyond).
func (a *API) conditionalDelete(r *request, _ []string) {
	criteria := r.c.Request.URL.RawQuery
	limit := a.cfg.ConditionalDeleteMax
	ctx := r.c.Request.Context()
	deleted := 0
	err := a.store.Tx(ctx, func(tx fhirstore.Tx) error {
		found, err := a.matches(ctx, tx, r.sandbox, r.base, r.typ, criteria, limit)
		if err != nil {
			return err
		}
		if len(found) > limit {
			return outcome.New(outcome.PreconditionFailed, outcome.MultipleMatches,
				"%s?%s matches more than %d resource(s), the most one conditional delete may remove", r.typ, criteria, limit)
		}
		for _, f := range found {
			if _, err := tx.Delete(ctx, r.sandbox, f.Type, f.ID); err != nil {
				return err
			}
			deleted++
		}
		return nil
	})
	if err != nil {
		writeError(r.c, storeError(err, r.typ, ""))
		return
	}
	if preferReturn(r.c) == returnOutcome {
		writeBody(r.c, http.StatusOK, outcome.JSON([]outcome.Issue{{Severity: outcome.Information, Code: outcome.Informational,
			Diagnostics: fmt.Sprintf("%d %s resource(s) deleted", deleted, r.typ)}}))
		return
	}
	r.c.Status(http.StatusNoContent)
}
