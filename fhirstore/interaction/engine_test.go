package interaction_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

const (
	base = "http://sandbox.test/fhir"
	sb   = fhirstore.DefaultSandbox
)

const patientP1 = `{"resourceType":"Patient","id":"p1","name":[{"family":"Nordmann","given":["Kari"]}],"birthDate":"1980-02-03"}`

// fixture is an engine over a fresh SQLite store. Writes go through the
// engine under ctx; read, count and versions look at the store unconfined.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	eng   *interaction.Engine
	store fhirstore.Store
}

func newFixture(t testing.TB) *fixture { return newFixtureWith(t, interaction.Config{BaseURL: base}) }

func newFixtureWith(t testing.TB, cfg interaction.Config) *fixture {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &fixture{t: t, ctx: context.Background(), eng: interaction.New(store, cfg), store: store}
}

// write performs w in the test sandbox.
func (f *fixture) write(w interaction.Write) (*interaction.Result, error) {
	w.Sandbox = sb
	return f.eng.Write(f.ctx, &w)
}

// put stores body (which has an id) as it is, failing the test otherwise.
func (f *fixture) put(body string) *fhirstore.Resource {
	f.t.Helper()
	res, err := fhirjson.Parse([]byte(body))
	if err != nil {
		f.t.Fatal(err)
	}
	v, _, err := f.store.Update(context.Background(), sb, res, fhirstore.UpdateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// read returns the current version of typ/id, or the store's error.
func (f *fixture) read(typ, id string) (*fhirstore.Resource, error) {
	return f.store.Read(context.Background(), sb, typ, id)
}

// count is how many current resources of typ the query (a query string)
// matches.
func (f *fixture) count(typ, query string) int {
	f.t.Helper()
	params, err := url.ParseQuery(query)
	if err != nil {
		f.t.Fatal(err)
	}
	q, err := search.Parse(typ, params, search.Options{Base: base})
	if err != nil {
		f.t.Fatal(err)
	}
	q.Total = search.TotalAccurate
	page, err := f.store.Search(context.Background(), sb, fhirstore.SearchQuery{Query: q})
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Total
}

// versions is how many versions the sandbox's history holds.
func (f *fixture) versions() int {
	f.t.Helper()
	page, err := f.store.History(context.Background(), sb, fhirstore.HistoryQuery{Count: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Total
}

type bundleResponse struct {
	ResourceType, Type string
	Entry              []struct {
		FullURL  string
		Resource json.RawMessage
		Response struct {
			Status, Location, Etag string
			Outcome                json.RawMessage
		}
	}
}

// bundle processes body and decodes the response Bundle.
func (f *fixture) bundle(body string, representation bool) (*bundleResponse, error) {
	f.t.Helper()
	out, err := f.eng.Bundle(f.ctx, &interaction.BundleRequest{Sandbox: sb, Body: []byte(body), Representation: representation})
	if err != nil {
		return nil, err
	}
	var b bundleResponse
	if err := json.Unmarshal(out, &b); err != nil {
		f.t.Fatalf("response Bundle: %v: %s", err, out)
	}
	return &b, nil
}

// category is the category of err ("" for nil).
func category(err error) outcome.Category {
	if err == nil {
		return ""
	}
	return outcome.CategoryOf(err)
}

// issue returns the first issue of err, an *outcome.Error.
func issue(t testing.TB, err error) outcome.Issue {
	t.Helper()
	var oe *outcome.Error
	if !errors.As(err, &oe) || len(oe.Issues) == 0 {
		t.Fatalf("%v is not an *outcome.Error with issues", err)
	}
	return oe.Issues[0]
}
