package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// Problem is an RFC 9457 problem detail, the body of every error answer
// (application/problem+json).
type Problem struct {
	// Type is a URI reference to the response in the OpenAPI document that
	// describes this kind of problem, e.g.
	// /admin/api/openapi.json#/components/responses/NotFound.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors name the parts of the request at fault.
	Errors []FieldError `json:"errors,omitempty"`

	kind string
}

// FieldError is one fault of a request: Field is the JSON field (dotted,
// e.g. settings.access_token_seconds) or query parameter.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error returns the title and detail, so that a Problem can be returned as an error.
func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// The kinds of problem, each a response of the OpenAPI document. Their
// titles do not change from one occurrence to the next (RFC 9457 §3.1.3).
const (
	kindBadRequest  = "BadRequest"
	kindUnauth      = "Unauthorized"
	kindForbidden   = "Forbidden"
	kindNotFound    = "NotFound"
	kindExists      = "Exists"
	kindBusy        = "Busy"
	kindConflict    = "Conflict"
	kindTooLarge    = "TooLarge"
	kindMediaType   = "UnsupportedMediaType"
	kindInvalid     = "Invalid"
	kindInternal    = "Internal"
	kindUnavailable = "Unavailable"
	kindTooMany     = "TooManyRequests"
)

var kinds = map[string]struct {
	status int
	title  string
}{
	kindBadRequest:  {http.StatusBadRequest, "The request cannot be read"},
	kindUnauth:      {http.StatusUnauthorized, "Credentials are missing or wrong"},
	kindForbidden:   {http.StatusForbidden, "Your role may not do this"},
	kindNotFound:    {http.StatusNotFound, "Not found"},
	kindExists:      {http.StatusConflict, "Already exists"},
	kindBusy:        {http.StatusConflict, "The sandbox is busy"},
	kindConflict:    {http.StatusConflict, "Not allowed in the current state"},
	kindTooLarge:    {http.StatusRequestEntityTooLarge, "The request body is too large"},
	kindMediaType:   {http.StatusUnsupportedMediaType, "The request body is not JSON"},
	kindInvalid:     {http.StatusUnprocessableEntity, "The request breaks a rule"},
	kindInternal:    {http.StatusInternalServerError, "Internal error"},
	kindUnavailable: {http.StatusServiceUnavailable, "The request was cancelled or timed out"},
	kindTooMany:     {http.StatusTooManyRequests, "Too many failed sign-ins"},
}

func problem(kind, detail string, errs ...FieldError) *Problem {
	k := kinds[kind]
	return &Problem{kind: kind, Title: k.title, Status: k.status, Detail: detail, Errors: errs}
}

// notFound is the answer for an object the caller cannot see. Its detail
// names neither the object nor whether it exists, so that a supplier gets
// the same bytes for another supplier's sandbox as for no sandbox at all.
func notFound(what string) *Problem {
	return problem(kindNotFound, fmt.Sprintf("There is no such %s, or you may not see it.", what))
}

// orNotFound turns tenant.ErrNotFound into the answer for what.
func orNotFound(err error, what string) error {
	if errors.Is(err, tenant.ErrNotFound) {
		return notFound(what)
	}
	return err
}

// problemFor maps an error of a handler to the problem it answers.
func problemFor(err error) *Problem {
	if p, ok := errors.AsType[*Problem](err); ok {
		return p
	}
	if ie, ok := errors.AsType[*tenant.InvalidError](err); ok {
		return problem(kindInvalid, ie.Error(), FieldError{Field: ie.Field, Message: ie.Message})
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return problem(kindTooLarge, "The body is larger than this API reads.")
	}
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		// Handlers name what was not found; this is the fallback.
		return notFound("object")
	case errors.Is(err, tenant.ErrForbidden):
		return problem(kindForbidden, err.Error())
	case errors.Is(err, tenant.ErrExists):
		return problem(kindExists, err.Error())
	case errors.Is(err, tenant.ErrBusy):
		return problem(kindBusy, err.Error()+"; try again when it is done")
	case errors.Is(err, tenant.ErrState):
		return problem(kindConflict, err.Error())
	case errors.Is(err, tenant.ErrBadCredentials):
		return problem(kindUnauth, "Wrong username or password.")
	case errors.Is(err, requestlog.ErrBadFilter):
		return problem(kindBadRequest, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return problem(kindUnavailable, "The request ended before the work was done; it may have been done in part.")
	}
	return nil
}

// renderError answers err as a problem; an error that is not one of the
// API's or tenant's is logged and answered 500 without its text.
func (a *API) renderError(c *gin.Context, err error) {
	p := problemFor(err)
	if p == nil {
		a.log.ErrorContext(c.Request.Context(), "admin api", "method", c.Request.Method, "route", c.FullPath(),
			"request_id", c.GetString("request_id"), "err", err)
		p = problem(kindInternal, "The server failed; its log has the cause.")
	}
	a.renderProblem(c, p)
}

func (a *API) renderProblem(c *gin.Context, p *Problem) {
	cp := *p
	cp.Type = a.docPath + "#/components/responses/" + p.kind
	if p.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Basic realm="HP Sandbox admin", charset="UTF-8"`)
	}
	body, err := json.Marshal(&cp)
	if err != nil {
		panic(err) // a Problem always marshals
	}
	c.Abort()
	c.Data(cp.Status, "application/problem+json", body)
}
