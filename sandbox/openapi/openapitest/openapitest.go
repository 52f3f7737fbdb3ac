// Package openapitest checks HTTP answers against the server's OpenAPI
// document with a real OpenAPI parser (kin-openapi), for tests: the
// document's own tests and the guides' example runner use it. It is
// imported by tests only, so the server does not carry the parser.
package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Checker finds the operation of a request in the document and judges the
// answer by it.
type Checker struct {
	Doc    *openapi3.T
	router routers.Router
}

// New loads and validates the document (JSON).
func New(raw []byte) (*Checker, error) {
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("loading the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document does not validate: %w", err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("routing the OpenAPI document: %w", err)
	}
	return &Checker{Doc: doc, router: r}, nil
}

func init() {
	// Answers that are not JSON are checked for their status and media
	// type only.
	text := func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	}
	for _, m := range []string{"application/xml", "text/html", "application/fhir+ndjson"} {
		openapi3filter.RegisterBodyDecoder(m, text)
	}
}

// Check returns why the answer (status, header, body) to req is not what
// the document says the operation answers, or nil. The request's URL may
// be absolute: only its path and query are looked at.
func (c *Checker) Check(req *http.Request, status int, header http.Header, body []byte) error {
	r := req.Clone(context.Background())
	r.URL.Scheme, r.URL.Host, r.Host = "", "", ""
	// A supplier's sandbox serves what the default one does below its
	// own base; the document describes the default's.
	if rest, ok := strings.CutPrefix(r.URL.Path, "/sandboxes/"); ok {
		if _, below, ok := strings.Cut(rest, "/"); ok && strings.HasPrefix(below, "fhir") {
			r.URL.Path, r.URL.RawPath = "/"+below, ""
		}
	}
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("%s %s is not in the OpenAPI document: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d, which its operation %s does not allow: %w", req.Method, req.URL.Path, status, route.Operation.OperationID, err)
	}
	return nil
}
