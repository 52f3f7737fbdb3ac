package fhirapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

// Page sizes of history and search.
const (
	defaultCount = interaction.DefaultCount
	maxCount     = interaction.MaxCount
)

// The API's Bundles, by fhirjson's names.
type (
	bundleJSON   = fhirjson.Bundle
	metaJSON     = fhirjson.BundleMeta
	linkJSON     = fhirjson.BundleLink
	entryJSON    = fhirjson.BundleEntry
	searchJSON   = fhirjson.BundleSearch
	requestJSON  = fhirjson.BundleRequest
	responseJSON = fhirjson.BundleResponse
)

// paging reads _count and _offset, refusing malformed values.
func paging(r *request) (count, offset int, err error) {
	count, offset = defaultCount, 0
	if s, ok := r.c.GetQuery("_count"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, 0, outcome.New(outcome.Incorrect, outcome.Value, "_count must be a non-negative integer, not %q", s).At("_count")
		}
		count = min(n, maxCount)
	}
	if s, ok := r.c.GetQuery("_offset"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, 0, outcome.New(outcome.Incorrect, outcome.Value, "_offset must be a non-negative integer, not %q", s).At("_offset")
		}
		offset = n
	}
	return count, offset, nil
}

// links returns self, first, previous and next links for a page; extra are
// parameters every link keeps (the paging snapshot, filters).
func links(base, path string, extra url.Values, count, offset, total int) []linkJSON {
	mk := func(off int) string {
		q := url.Values{}
		for k, vs := range extra {
			q[k] = vs
		}
		q.Set("_count", strconv.Itoa(count))
		if off > 0 {
			q.Set("_offset", strconv.Itoa(off))
		}
		return base + path + "?" + q.Encode()
	}
	ls := []linkJSON{{Relation: "self", URL: mk(offset)}, {Relation: "first", URL: mk(0)}}
	if offset > 0 && count > 0 {
		ls = append(ls, linkJSON{Relation: "previous", URL: mk(max(0, offset-count))})
	}
	if count > 0 && offset+count < total {
		ls = append(ls, linkJSON{Relation: "next", URL: mk(offset + count)})
	}
	return ls
}

func newBundle(typ string, total int, ls []linkJSON) *bundleJSON {
	now := time.Now()
	return &bundleJSON{
		ResourceType: "Bundle",
		ID:           fmt.Sprintf("%x", now.UnixNano()),
		Meta:         metaJSON{LastUpdated: fhirjson.FormatInstant(now)},
		Type:         typ,
		Total:        &total,
		Link:         ls,
	}
}

func writeBundle(r *request, b *bundleJSON) {
	out, err := b.AppendJSON(make([]byte, 0, b.SizeHint()))
	if err != nil {
		writeError(r.c, err)
		return
	}
	writeBody(r.c, http.StatusOK, out)
}

func (a *API) history(r *request, segs []string) {
	count, offset, err := paging(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	q := fhirstore.HistoryQuery{Type: r.typ, ID: r.id, Count: count, Offset: offset}
	keep := url.Values{}
	if s, ok := r.c.GetQuery("_since"); ok {
		if q.Since, err = interaction.ParseInstant(s); err != nil {
			writeError(r.c, outcome.New(outcome.Incorrect, outcome.Value, "_since: %v", err).At("_since"))
			return
		}
		keep.Set("_since", s)
	}
	// _snapshot fixes the newest version a paged history shows, so that
	// writes after the first page do not shift the pages after it; the
	// store chooses it on the first page.
	if s, ok := r.c.GetQuery("_snapshot"); ok {
		if q.Before, err = interaction.ParseInstant(s); err != nil {
			writeError(r.c, outcome.New(outcome.Incorrect, outcome.Value, "_snapshot: %v", err).At("_snapshot"))
			return
		}
	}
	page, err := a.store.History(r.c.Request.Context(), r.sandbox, q)
	if err != nil {
		writeError(r.c, interaction.StoreError(err, r.typ, r.id))
		return
	}
	keep.Set("_snapshot", fhirjson.FormatInstant(page.Snapshot))
	path := ""
	for _, s := range segs {
		path += "/" + s
	}
	b := newBundle("history", page.Total, links(r.base(), path, keep, count, offset, page.Total))
	for _, v := range page.Versions {
		e := entryJSON{
			FullURL:  r.base() + "/" + v.Type + "/" + v.ID,
			Request:  &requestJSON{Method: string(v.Method), URL: v.Type + "/" + v.ID},
			Response: &responseJSON{Etag: v.ETag(), LastModified: fhirjson.FormatInstant(v.LastUpdated)},
		}
		switch {
		case v.Deleted():
			e.Response.Status = "204 No Content"
		case v.Method == fhirstore.MethodCreate:
			e.Request.URL = v.Type
			e.Response.Status = "201 Created"
		case v.Version == 1:
			e.Response.Status = "201 Created"
		default:
			e.Response.Status = "200 OK"
		}
		if !v.Deleted() {
			e.Resource = v.Body
		}
		b.Entry = append(b.Entry, e)
	}
	writeBundle(r, b)
}
