package interaction

import (
	"context"
	"errors"
	"net/url"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
)

// visible checks, when ctx carries a search.Confinement, that typ/id is a
// current resource the confinement lets a search of rd see: an _id search
// of its type, which the store confines as it confines every search. A
// write calls it in its transaction for what it writes and what it
// replaces, so that what the confinement hides can neither be written nor
// overwritten; the error (outcome.Denied) rolls the transaction back.
func visible(ctx context.Context, rd fhirstore.Reader, sandbox fhirstore.Sandbox, typ, id string) error {
	c := search.ConfinementOf(ctx)
	if c == nil {
		return nil
	}
	q, err := search.Parse(typ, url.Values{"_id": {id}}, search.Options{DefaultCount: 1, MaxCount: 1})
	if err != nil {
		return err
	}
	q.Total = search.TotalNone
	page, err := rd.Search(ctx, sandbox, fhirstore.SearchQuery{Query: q})
	if err != nil {
		return err
	}
	if len(page.Matches) == 0 {
		return outcome.New(outcome.Denied, outcome.Forbidden,
			"%s/%s lies outside the compartment of %s/%s, to which this request is confined",
			typ, id, c.Compartment.Type, c.Compartment.ID)
	}
	return nil
}

// replaced checks, under a confinement, that the current version of
// typ/id, if there is one, is visible: an update or delete may not replace
// what it could not read.
func replaced(ctx context.Context, tx fhirstore.Tx, sandbox fhirstore.Sandbox, typ, id string) error {
	if search.ConfinementOf(ctx) == nil {
		return nil
	}
	_, err := tx.Read(ctx, sandbox, typ, id)
	var gone *fhirstore.GoneError
	switch {
	case errors.Is(err, fhirstore.ErrNotFound), errors.As(err, &gone):
		return nil
	case err != nil:
		return err
	}
	return visible(ctx, tx, sandbox, typ, id)
}
