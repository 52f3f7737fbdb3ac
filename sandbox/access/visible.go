package access

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// visible checks that typ/id is visible under the decision's confinement,
// by asking the store for it inside the confinement (an _id search), as a
// search would see it. A resource that does not exist or was deleted
// passes, since the API answers that without data.
func visible(ctx context.Context, store fhirstore.Store, sandbox, typ, id string, d Decision) error {
	sp, ok := searchparam.Lookup(typ, "_id")
	if !ok {
		return fmt.Errorf("access to %s/%s cannot be checked", typ, id)
	}
	// A count, which reads index rows only, not the resource's body.
	q := &search.Query{Types: []string{typ}, Count: 0, Total: search.TotalAccurate,
		Filters: []*search.Filter{{Name: "_id", Param: sp, Values: []search.Value{{Code: id}}}}}
	page, err := store.Search(search.ConfineTo(ctx, d.Confinement), fhirstore.Sandbox(sandbox), fhirstore.SearchQuery{Query: q})
	if err != nil {
		return fmt.Errorf("access to %s/%s cannot be checked now: the store failed", typ, id)
	}
	if page.Total > 0 {
		return nil
	}
	// Not visible: refused if it exists, else left to the API's 404 or 410.
	_, err = store.Read(ctx, fhirstore.Sandbox(sandbox), typ, id)
	var gone *fhirstore.GoneError
	switch {
	case errors.Is(err, fhirstore.ErrNotFound), errors.As(err, &gone):
		return nil
	case err != nil:
		return fmt.Errorf("access to %s/%s cannot be checked now: the store failed", typ, id)
	}
	return errors.New(describe(typ, id, d.Permission))
}

// versionVisible checks the version of typ/id a vread names. Past versions
// are not indexed, so their bodies are checked (allows); a version that is
// not a number, does not exist or is a deletion passes, since the API
// answers that without data.
func versionVisible(ctx context.Context, store fhirstore.Store, sandbox, base, typ, id, version string, d Decision) error {
	v, err := strconv.ParseInt(version, 10, 64)
	if err != nil {
		return nil
	}
	res, err := store.VRead(ctx, fhirstore.Sandbox(sandbox), typ, id, v)
	var gone *fhirstore.GoneError
	switch {
	case errors.Is(err, fhirstore.ErrNotFound), errors.As(err, &gone):
		return nil
	case err != nil:
		return fmt.Errorf("access to %s/%s cannot be checked now: the store failed", typ, id)
	case res.Body == nil:
		return nil
	}
	return allows(base, typ, id, res.Body, d.Permission)
}
