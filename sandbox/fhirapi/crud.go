package fhirapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

// pointLookup is the context of a read by id or version: the request's,
// without its cancellation. Such a read is one indexed lookup, over before
// a client that hangs up could be noticed; under a context that can be
// cancelled, database/sql and the SQLite driver each start a goroutine per
// query to watch it, which costs a read by id about a quarter of its CPU
// time (BenchmarkGateway_ReadByID).
func pointLookup(r *request) context.Context {
	return context.WithoutCancel(r.c.Request.Context())
}

func (a *API) read(r *request, _ []string) {
	v, err := a.store.Read(pointLookup(r), r.sandbox, r.typ, r.id)
	if err != nil {
		writeError(r.c, interaction.StoreError(err, r.typ, r.id))
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
			if n, err := interaction.ParseETag(tag); err == nil && n == v.Version {
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
	v, err := a.store.VRead(pointLookup(r), r.sandbox, r.typ, r.id, ver)
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

// write performs w (of the routed sandbox, base, type and id) with the
// request's If-Match, and answers as Prefer asks; verb says what happened
// to a resource that was not created.
func (a *API) write(r *request, w *interaction.Write, verb string) {
	w.Sandbox, w.Base, w.Type, w.ID = r.sandbox, r.base(), r.typ, r.id
	if w.Kind == interaction.Update || w.Kind == interaction.ConditionalUpdate || w.Kind == interaction.Patch {
		v, err := interaction.ParseIfMatch(r.c.GetHeader("If-Match"))
		if err != nil {
			writeError(r.c, err)
			return
		}
		w.IfMatch = v
	}
	res, err := a.engine.Write(r.c.Request.Context(), w)
	if err != nil {
		writeError(r.c, err)
		return
	}
	switch {
	case res.Created:
		a.written(r, res.Resource, http.StatusCreated, "created")
	case res.Existing:
		a.written(r, res.Resource, http.StatusOK, "already exists (If-None-Exist) at")
	default:
		a.written(r, res.Resource, http.StatusOK, verb)
	}
}

// writeResource reads the request's body (a resource or a patch) and
// performs w with it.
func (a *API) writeResource(r *request, w *interaction.Write, verb string) {
	data, err := a.readBody(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	w.Body = data
	a.write(r, w, verb)
}

// create serves POST [type], conditional with If-None-Exist: the resource
// is created only when the criteria match nothing; one match is answered
// with 200 and that resource, several with 412.
func (a *API) create(r *request, _ []string) {
	a.writeResource(r, &interaction.Write{Kind: interaction.Create, IfNoneExist: r.c.GetHeader("If-None-Exist")}, "created")
}

// update serves PUT [type]/[id].
func (a *API) update(r *request, _ []string) {
	a.writeResource(r, &interaction.Write{Kind: interaction.Update}, "updated")
}

// conditionalUpdate serves PUT [type]?criteria: no match creates the
// resource (under its body id, or a new one), one match updates it, several
// are refused with 412.
func (a *API) conditionalUpdate(r *request, _ []string) {
	a.writeResource(r, &interaction.Write{Kind: interaction.ConditionalUpdate, Criteria: r.c.Request.URL.RawQuery}, "updated")
}

// patch serves PATCH [type]/[id] with a JSON Patch document
// (application/json-patch+json) or a FHIRPath Patch Parameters resource
// (application/fhir+json); a patch that leaves the resource invalid is
// refused with 422.
func (a *API) patch(r *request, _ []string) {
	w := &interaction.Write{Kind: interaction.Patch}
	switch mt, _, _ := mime.ParseMediaType(r.c.GetHeader("Content-Type")); mt {
	case "application/json-patch+json":
		w.Patch = interaction.JSONPatch
	case "application/fhir+json", "application/json", "":
		w.Patch = interaction.FHIRPathPatch
	default:
		writeError(r.c, outcome.New(outcome.UnsupportedMedia, outcome.NotSupported,
			"PATCH takes application/json-patch+json (JSON Patch) or application/fhir+json (FHIRPath Patch), not %q", r.c.GetHeader("Content-Type")))
		return
	}
	r.c.Request.Header.Set("Content-Type", "application/json") // for readBody's check
	a.writeResource(r, w, "patched")
}

// written answers a successful create or update as Prefer asks.
func (a *API) written(r *request, v *fhirstore.Resource, status int, verb string) {
	loc := fmt.Sprintf("%s/%s/%s/_history/%d", r.base(), v.Type, v.ID, v.Version)
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

// delete serves DELETE [type]/[id].
func (a *API) delete(r *request, _ []string) {
	res, err := a.engine.Write(r.c.Request.Context(), &interaction.Write{Kind: interaction.Delete,
		Sandbox: r.sandbox, Base: r.base(), Type: r.typ, ID: r.id})
	if err != nil {
		writeError(r.c, err)
		return
	}
	msg := fmt.Sprintf("%s/%s did not exist or was already deleted", r.typ, r.id)
	if v := res.Resource; v != nil {
		r.c.Header("ETag", v.ETag())
		msg = fmt.Sprintf("%s/%s deleted as version %d", r.typ, r.id, v.Version)
	}
	a.deleted(r, msg)
}

// conditionalDelete serves DELETE [type]?criteria, removing the matches,
// at most Config.ConditionalDeleteMax of them (412 beyond).
func (a *API) conditionalDelete(r *request, _ []string) {
	res, err := a.engine.Write(r.c.Request.Context(), &interaction.Write{Kind: interaction.ConditionalDelete,
		Sandbox: r.sandbox, Base: r.base(), Type: r.typ, Criteria: r.c.Request.URL.RawQuery})
	if err != nil {
		writeError(r.c, err)
		return
	}
	a.deleted(r, fmt.Sprintf("%d %s resource(s) deleted", res.Deleted, r.typ))
}

// deleted answers a delete: 204, or 200 with an OperationOutcome saying
// msg when Prefer asks for one.
func (a *API) deleted(r *request, msg string) {
	if preferReturn(r.c) == returnOutcome {
		writeBody(r.c, http.StatusOK, outcome.JSON([]outcome.Issue{{Severity: outcome.Information, Code: outcome.Informational, Diagnostics: msg}}))
		return
	}
	r.c.Status(http.StatusNoContent)
}
