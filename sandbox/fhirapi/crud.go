package fhirapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

func (a *API) read(r *request, _ []string) {
	v, err := a.store.Read(r.c.Request.Context(), r.sandbox, r.typ, r.id)
	if err != nil {
		writeError(r.c, storeError(err, r.typ, r.id))
		return
	}
	if notModified(r, v) {
		setVersionHeaders(r.c, v)
		r.c.Status(http.StatusNotModified)
		return
	}
	setVersionHeaders(r.c, v)
	writeBody(r.c, http.StatusOK, v.Body)
}

// notModified answers the conditional read: If-None-Match first, and
// If-Modified-Since only without it (RFC 9110 §13.2.2).
func notModified(r *request, v *fhirstore.Resource) bool {
	if inm := r.c.GetHeader("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				return true
			}
			if n, err := parseETag(tag); err == nil && n == v.Version {
				return true
			}
		}
		return false
	}
	if ims := r.c.GetHeader("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		// HTTP dates have whole seconds: compare at that precision.
		return err == nil && !v.LastUpdated.Truncate(time.Second).After(t)
	}
	return false
}

func (a *API) vread(r *request, segs []string) {
	ver, err := strconv.ParseInt(segs[3], 10, 64)
	if err != nil || ver < 1 {
		writeError(r.c, outcome.New(outcome.Incorrect, outcome.Value, "%q is not a version id", segs[3]))
		return
	}
	v, err := a.store.VRead(r.c.Request.Context(), r.sandbox, r.typ, r.id, ver)
	if err != nil {
		if errors.Is(err, fhirstore.ErrNotFound) {
			err = outcome.New(outcome.Missing, outcome.NotFound, "%s/%s has no version %d", r.typ, r.id, ver).Wrap(err)
		}
		writeError(r.c, err)
		return
	}
	setVersionHeaders(r.c, v)
	if v.Deleted() {
		writeError(r.c, outcome.New(outcome.Gone, outcome.Deleted, "version %d of %s/%s records its deletion", ver, r.typ, r.id))
		return
	}
	writeBody(r.c, http.StatusOK, v.Body)
}

// body reads and validates the request's resource, refusing bodies over
// the limit, of the wrong media type, or of another type than the URL's.
func (a *API) body(r *request) (*fhirjson.Resource, error) {
	data, err := a.readBody(r)
	if err != nil {
		return nil, err
	}
	res, err := fhirjson.Parse(data)
	if err != nil {
		return nil, err
	}
	if res.Type != r.typ {
		return nil, outcome.New(outcome.Incorrect, outcome.Invalid,
			"resource type %s in the body does not match %s in the URL", res.Type, r.typ).At("resourceType")
	}
	return res, nil
}

// readBody reads a non-empty JSON request body within the size limit,
// without a leading UTF-8 byte-order mark.
func (a *API) readBody(r *request) ([]byte, error) {
	if err := checkContentType(r.c); err != nil {
		return nil, err
	}
	tooLarge := outcome.New(outcome.TooLarge, outcome.TooLong,
		"request body is larger than the limit of %d bytes", a.cfg.MaxBodyBytes)
	if r.c.Request.ContentLength > a.cfg.MaxBodyBytes {
		return nil, tooLarge
	}
	data, err := io.ReadAll(http.MaxBytesReader(r.c.Writer, r.c.Request.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, outcome.New(outcome.Incorrect, outcome.Structure, "reading request body: %v", err)
	}
	// A byte-order mark is not JSON, but some tools write one; other
	// servers ignore it, and so does every body this API reads.
	data = fhirjson.TrimBOM(data)
	if len(data) == 0 {
		want := r.typ
		if want == "" {
			want = "Bundle"
		}
		return nil, outcome.New(outcome.Incorrect, outcome.Required, "request body is empty; send %s resource", outcome.Article(want))
	}
	return data, nil
}

func (a *API) create(r *request, _ []string) {
	res, err := a.body(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	if criteria := r.c.GetHeader("If-None-Exist"); criteria != "" {
		a.conditionalCreate(r, res, criteria)
		return
	}
	// The specification says a server ignores an id in a create's body.
	v, err := a.store.Create(r.c.Request.Context(), r.sandbox, res, "")
	if err != nil {
		writeError(r.c, storeError(err, r.typ, ""))
		return
	}
	a.written(r, v, http.StatusCreated, "created")
}

func (a *API) update(r *request, _ []string) {
	res, err := a.body(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	if err := checkUpdateID(r.typ, r.id, res); err != nil {
		writeError(r.c, err)
		return
	}
	opts, err := updateOptions(r.c.GetHeader("If-Match"))
	if err != nil {
		writeError(r.c, err)
		return
	}
	v, created, err := a.store.Update(r.c.Request.Context(), r.sandbox, res, opts)
	if err != nil {
		writeError(r.c, storeError(err, r.typ, r.id))
		return
	}
	if created {
		a.written(r, v, http.StatusCreated, "created")
		return
	}
	a.written(r, v, http.StatusOK, "updated")
}

// checkUpdateID enforces the specification's rule for update: the body
// carries the id of the URL.
func checkUpdateID(typ, id string, res *fhirjson.Resource) error {
	if res.ID == "" {
		return outcome.New(outcome.Incorrect, outcome.Required,
			"the body of an update must carry id %q", id).At(typ + ".id")
	}
	if res.ID != id {
		return outcome.New(outcome.Incorrect, outcome.Invalid,
			"id %q in the body does not match id %q in the URL", res.ID, id).At(typ + ".id")
	}
	return nil
}

// updateOptions reads an If-Match value.
func updateOptions(ifMatch string) (fhirstore.UpdateOptions, error) {
	var opts fhirstore.UpdateOptions
	if ifMatch == "" {
		return opts, nil
	}
	v, err := parseETag(ifMatch)
	if err != nil {
		return opts, outcome.New(outcome.Incorrect, outcome.Value, "If-Match: %v", err)
	}
	opts.IfMatch = v
	return opts, nil
}

// written answers a successful create or update as Prefer asks.
func (a *API) written(r *request, v *fhirstore.Resource, status int, verb string) {
	loc := fmt.Sprintf("%s/%s/%s/_history/%d", r.base, v.Type, v.ID, v.Version)
	r.c.Header("Location", loc)
	if status == http.StatusOK {
		r.c.Header("Content-Location", loc)
	}
	setVersionHeaders(r.c, v)
	switch preferReturn(r.c) {
	case returnMinimal:
		r.c.Status(status)
	case returnOutcome:
		writeBody(r.c, status, outcome.JSON([]outcome.Issue{{Severity: outcome.Information, Code: outcome.Informational,
			Diagnostics: fmt.Sprintf("%s/%s %s as version %d", v.Type, v.ID, verb, v.Version)}}))
	default:
		writeBody(r.c, status, v.Body)
	}
}

func (a *API) delete(r *request, _ []string) {
	v, err := a.store.Delete(r.c.Request.Context(), r.sandbox, r.typ, r.id)
	if err != nil {
		writeError(r.c, storeError(err, r.typ, r.id))
		return
	}
	msg := fmt.Sprintf("%s/%s did not exist or was already deleted", r.typ, r.id)
	if v != nil {
		r.c.Header("ETag", v.ETag())
		msg = fmt.Sprintf("%s/%s deleted as version %d", r.typ, r.id, v.Version)
	}
	if preferReturn(r.c) == returnOutcome {
		writeBody(r.c, http.StatusOK, outcome.JSON([]outcome.Issue{{Severity: outcome.Information, Code: outcome.Informational, Diagnostics: msg}}))
		return
	}
	r.c.Status(http.StatusNoContent)
}
