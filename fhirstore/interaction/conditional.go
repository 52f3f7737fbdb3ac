package interaction

import (
	"context"
	"net/url"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
)

// The conditional interactions, written once for the HTTP API and for
// Bundle entries: they run inside the store transaction of the write that
// follows, so that no other write can race between the search and it.

// matches returns up to limit+1 current resources of typ that the search
// criteria (a query string, as in If-None-Exist or PUT Type?criteria)
// select, read through rd. Criteria are required, and parameters the
// server does not know are refused: ignoring one would select more than
// the client meant.
func matches(ctx context.Context, rd fhirstore.Reader, sandbox fhirstore.Sandbox, base, typ, criteria string, limit int) ([]*fhirstore.Resource, error) {
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

// matchOne evaluates the criteria of a conditional create or update: the
// one match, or nil when there is none; more than one fails as
// outcome.PreconditionFailed.
func matchOne(ctx context.Context, rd fhirstore.Reader, sandbox fhirstore.Sandbox, base, typ, criteria string) (*fhirstore.Resource, error) {
	found, err := matches(ctx, rd, sandbox, base, typ, criteria, 1)
	switch {
	case err != nil:
		return nil, err
	case len(found) > 1:
		return nil, outcome.New(outcome.PreconditionFailed, outcome.MultipleMatches,
			"%s?%s matches more than one resource", typ, criteria)
	case len(found) == 1:
		return found[0], nil
	}
	return nil, nil
}

// updateTarget is the id a conditional update writes: that of the match
// (which the body's id, if any, must be), else the body's (which must be
// able to name a new resource); "" asks for a new server-assigned id.
func updateTarget(typ string, found *fhirstore.Resource, bodyID string) (string, error) {
	switch {
	case found != nil && bodyID != "" && bodyID != found.ID:
		return "", outcome.New(outcome.Incorrect, outcome.Invalid,
			"the criteria select %s/%s but the body has id %q", typ, found.ID, bodyID).At(typ + ".id")
	case found != nil:
		return found.ID, nil
	case bodyID != "" && !fhirjson.ValidID(bodyID):
		// The body's id would become the new resource's address.
		return "", outcome.New(outcome.Incorrect, outcome.Value,
			"%q cannot name a new resource (%s)", bodyID, fhirjson.IDRule).At(typ + ".id")
	}
	return bodyID, nil
}

// deleteMatches removes what the criteria of a conditional delete select,
// at most limit resources (outcome.PreconditionFailed beyond), and returns
// the last deletion (nil when nothing matched) and how many it made.
func deleteMatches(ctx context.Context, tx fhirstore.Tx, sandbox fhirstore.Sandbox, base, typ, criteria string, limit int) (*fhirstore.Resource, int, error) {
	found, err := matches(ctx, tx, sandbox, base, typ, criteria, limit)
	if err != nil {
		return nil, 0, err
	}
	if len(found) > limit {
		return nil, 0, outcome.New(outcome.PreconditionFailed, outcome.MultipleMatches,
			"%s?%s matches more than %d resource(s), the most one conditional delete may remove", typ, criteria, limit)
	}
	var last *fhirstore.Resource
	for _, f := range found {
		// The matches were searched under the confinement, if any: they are
		// visible.
		if last, err = tx.Delete(ctx, sandbox, f.Type, f.ID); err != nil {
			return nil, 0, err
		}
	}
	return last, len(found), nil
}
