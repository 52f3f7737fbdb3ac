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

// versionVisible checks the version of typ/id a vread names: the store
// reads it inside the confinement (past versions keep what it reads of
// them), and one it does not find there is refused if it exists at all.
// A version that is not a number or does not exist passes, since the API
// answers that without data.
func versionVisible(ctx context.Context, store fhirstore.Store, sandbox, typ, id, version string, d Decision) error {
	v, err := strconv.ParseInt(version, 10, 64)
	if err != nil {
		return nil
	}
	_, err = store.VRead(search.ConfineTo(ctx, d.Confinement), fhirstore.Sandbox(sandbox), typ, id, v)
	if !errors.Is(err, fhirstore.ErrNotFound) {
		return storeFailed(err, typ, id)
	}
	_, err = store.VRead(search.Unconfined(ctx), fhirstore.Sandbox(sandbox), typ, id, v)
	if errors.Is(err, fhirstore.ErrNotFound) {
		return nil
	}
	if err := storeFailed(err, typ, id); err != nil {
		return err
	}
	return errors.New(describe(typ, id+"/_history/"+version, d.Permission))
}

// historyVisible checks the history of typ/id: the API answers the
// versions the confinement lets be seen (the store judges each as it
// was), and a resource none of whose versions may be seen is refused if
// it exists at all, as a read of it would be.
func historyVisible(ctx context.Context, store fhirstore.Store, sandbox, typ, id string, d Decision) error {
	hq := fhirstore.HistoryQuery{Type: typ, ID: id}
	_, err := store.History(search.ConfineTo(ctx, d.Confinement), fhirstore.Sandbox(sandbox), hq)
	if !errors.Is(err, fhirstore.ErrNotFound) {
		return storeFailed(err, typ, id)
	}
	_, err = store.History(search.Unconfined(ctx), fhirstore.Sandbox(sandbox), hq)
	if errors.Is(err, fhirstore.ErrNotFound) {
		return nil
	}
	if err := storeFailed(err, typ, id); err != nil {
		return err
	}
	return errors.New(describe(typ, id, d.Permission))
}

// storeFailed says that a check could not be made, for an error other
// than nil or ErrNotFound (a deleted version is found: the API answers
// 410 for it).
func storeFailed(err error, typ, id string) error {
	var gone *fhirstore.GoneError
	if err == nil || errors.Is(err, fhirstore.ErrNotFound) || errors.As(err, &gone) {
		return nil
	}
	return fmt.Errorf("access to %s/%s cannot be checked now: the store failed", typ, id)
}
