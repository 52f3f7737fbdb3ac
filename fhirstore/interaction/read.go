package interaction

import (
	"context"
	"encoding/json"
	"net/url"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
)

// Read returns the current version of typ/id in sandbox, as GET
// [type]/[id] does; its errors are the FHIR errors of StoreError (not
// found, gone, not visible under the context's confinement).
func (e *Engine) Read(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	r, err := e.store.Read(ctx, sandbox, typ, id)
	if err != nil {
		return nil, StoreError(err, typ, id)
	}
	return r, nil
}

// Update stores resource (FHIR JSON, with its id) as the next version of
// its type and id, as PUT [type]/[id] does; ifMatch, when not zero, is the
// version that must be current (else outcome.PreconditionFailed).
func (e *Engine) Update(ctx context.Context, sandbox fhirstore.Sandbox, resource []byte, ifMatch int64) (*fhirstore.Resource, error) {
	return e.UpdateAt(ctx, sandbox, "", resource, ifMatch)
}

// UpdateAt is Update for a request that came through base.
func (e *Engine) UpdateAt(ctx context.Context, sandbox fhirstore.Sandbox, base string, resource []byte, ifMatch int64) (*fhirstore.Resource, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if err := json.Unmarshal(resource, &head); err != nil || head.ResourceType == "" || head.ID == "" {
		return nil, outcome.New(outcome.Incorrect, outcome.Invalid, "an update needs a FHIR resource in JSON with its resourceType and id")
	}
	typ, id := head.ResourceType, head.ID
	r, err := e.Write(ctx, &Write{Kind: Update, Sandbox: sandbox, Base: base, Type: typ, ID: id, Body: resource, IfMatch: ifMatch})
	if err != nil {
		return nil, err
	}
	return r.Resource, nil
}

// SearchRequest is a search of one resource type, given as the REST API
// takes it: URL parameters, resolved at Base.
type SearchRequest struct {
	Sandbox fhirstore.Sandbox
	// Base is the absolute FHIR base the search came through;
	// Config.BaseURL when empty.
	Base string
	Type string
	// Params are the search parameters, including _count, _sort,
	// _include and a paging cursor, exactly as the REST API reads them.
	Params url.Values
}

// Search runs a search of typ in sandbox at Config.BaseURL, as connectors
// ask for one; see Query.
func (e *Engine) Search(ctx context.Context, sandbox fhirstore.Sandbox, typ string, params url.Values) (*fhirstore.SearchPage, error) {
	return e.Query(ctx, &SearchRequest{Sandbox: sandbox, Type: typ, Params: params})
}

// Query runs a search and returns its page. A parameter the server does
// not know or a malformed value is outcome.Incorrect, as the REST API
// answers it.
func (e *Engine) Query(ctx context.Context, req *SearchRequest) (*fhirstore.SearchPage, error) {
	q, err := search.Parse(req.Type, req.Params, search.Options{Base: e.base(req.Base), DefaultCount: DefaultCount, MaxCount: MaxCount})
	if err != nil {
		return nil, err
	}
	return e.store.Search(ctx, req.Sandbox, fhirstore.SearchQuery{Type: req.Type, Query: q})
}
