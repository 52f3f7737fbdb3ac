package interaction

import (
	"context"

	"hpsandbox/fhirstore/search"
)

type requestKey struct{}

type searchKey struct{}

// WithRequest returns a context carrying r, the request as whoever read it
// first (the access guard) routed it, so that the handlers after it act on
// the same value instead of routing the path again.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestOf returns the routed request ctx carries, or nil.
func RequestOf(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// WithSearch returns a context carrying q, the parsed search of the
// request, so that it is parsed once: the access guard parses it with the
// options the API parses with (fhirapi.SearchOptions at the request's
// base), and the API runs it as it is.
func WithSearch(ctx context.Context, q *search.Query) context.Context {
	return context.WithValue(ctx, searchKey{}, q)
}

// SearchOf returns the parsed search ctx carries, or nil.
func SearchOf(ctx context.Context) *search.Query {
	q, _ := ctx.Value(searchKey{}).(*search.Query)
	return q
}
