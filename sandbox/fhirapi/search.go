package fhirapi

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
)

// search serves the type-level search GET [base]/[type] and
// POST [base]/[type]/_search.
func (a *API) search(r *request, _ []string) {
	a.runSearch(r, r.typ, nil, "/"+r.typ)
}

// searchSystem serves GET [base]?_type=… and POST [base]/_search.
func (a *API) searchSystem(r *request, _ []string) {
	a.runSearch(r, "", nil, "")
}

// searchCompartment serves GET [base]/Patient/[id]/[type]; the router
// checked the compartment and the type.
func (a *API) searchCompartment(r *request, _ []string) {
	in := r.in
	comp := &search.Compartment{Type: in.CompartmentType, ID: in.Compartment}
	a.runSearch(r, in.Type, comp, "/"+in.CompartmentType+"/"+in.Compartment+"/"+in.Type)
}

// searchParams are the request's search parameters: the query string, and
// for POST …/_search the form body too.
func (a *API) searchParams(r *request) (url.Values, error) {
	params := r.c.Request.URL.Query()
	if r.c.Request.Method != http.MethodPost {
		return params, nil
	}
	if ct := r.c.GetHeader("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, outcome.New(outcome.UnsupportedMedia, outcome.NotSupported,
				"POST _search takes application/x-www-form-urlencoded, not %q", ct)
		}
	}
	r.c.Request.Body = http.MaxBytesReader(r.c.Writer, r.c.Request.Body, a.cfg.MaxBodyBytes)
	if err := r.c.Request.ParseForm(); err != nil {
		return nil, outcome.New(outcome.Incorrect, outcome.Invalid, "the form body cannot be read: %v", err)
	}
	for k, vs := range r.c.Request.PostForm {
		params[k] = append(params[k], vs...)
	}
	return params, nil
}

func (a *API) runSearch(r *request, typ string, comp *search.Compartment, path string) {
	params, err := a.searchParams(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	// The access guard parsed the search already, with these options, to
	// decide on it: the API runs what was decided on.
	q := interaction.SearchOf(r.c.Request.Context())
	if q == nil {
		if q, err = search.Parse(typ, params, SearchOptions(r.base())); err != nil {
			writeError(r.c, err)
			return
		}
	}
	if len(q.Ignored) > 0 && preferStrict(r.c) {
		writeError(r.c, outcome.New(outcome.Incorrect, outcome.NotSupported,
			"search parameters %v are not supported (Prefer: handling=strict)", q.Ignored).At(q.Ignored...))
		return
	}
	q.Compartment = comp
	if q.Summary == search.SummaryCount {
		q.Count = 0
		if q.Total == search.TotalDefault {
			q.Total = search.TotalAccurate
		}
	}
	page, err := a.store.Search(r.c.Request.Context(), r.sandbox, fhirstore.SearchQuery{Query: q})
	if err != nil {
		writeError(r.c, err)
		return
	}
	b, err := searchset(r, r.base()+path, params, q, page, page.Included)
	if err != nil {
		writeError(r.c, err)
		return
	}
	if len(q.Ignored) > 0 {
		b.Entry = append(b.Entry, entryJSON{
			Resource: outcome.JSON([]outcome.Issue{{Severity: outcome.Warning, Code: outcome.NotSupported,
				Diagnostics: fmt.Sprintf("search parameters %v are not supported and were ignored", q.Ignored),
				Expression:  q.Ignored}}),
			Search: &searchJSON{Mode: "outcome"},
		})
	}
	writeBundle(r, b)
}

// SearchOptions are the options the API parses a search with at base;
// a search parsed elsewhere with them (the access guard's) is run as it
// is.
func SearchOptions(base string) search.Options {
	return search.Options{Base: base, DefaultCount: defaultCount, MaxCount: maxCount}
}

// searchset is the Bundle of a page of matches (counted in total) and the
// resources added to them (search mode include), with the page's links.
func searchset(r *request, self string, params url.Values, q *search.Query, page *fhirstore.SearchPage, added []*fhirstore.Resource) (*bundleJSON, error) {
	b := newBundle("searchset", page.Total, searchLinks(self, params, q, page))
	if page.Total < 0 {
		b.Total = nil
	}
	for _, v := range page.Matches {
		if err := addSearchEntry(b, r.base(), v, "match", q); err != nil {
			return nil, err
		}
	}
	for _, v := range added {
		if err := addSearchEntry(b, r.base(), v, "include", q); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func addSearchEntry(b *bundleJSON, base string, v *fhirstore.Resource, mode string, q *search.Query) error {
	body, err := search.Subset(v.Body, v.Type, q.Summary, q.Elements)
	if err != nil {
		return fmt.Errorf("subset %s/%s: %w", v.Type, v.ID, err)
	}
	b.Entry = append(b.Entry, entryJSON{
		FullURL:  base + "/" + v.Type + "/" + v.ID,
		Resource: body,
		Search:   &searchJSON{Mode: mode},
	})
	return nil
}

// searchLinks are self, first, and next and previous when there are such
// pages; they keep the request's parameters (as GET links, also for a POST)
// and page with the store's cursors.
func searchLinks(url0 string, params url.Values, q *search.Query, page *fhirstore.SearchPage) []linkJSON {
	keep := url.Values{}
	for k, vs := range params {
		switch k {
		case "_cursor", "_offset", "_format", "_pretty":
			continue
		}
		keep[k] = vs
	}
	mk := func(cursor string) string {
		v := url.Values{}
		for k, vs := range keep {
			v[k] = vs
		}
		if cursor != "" {
			v.Set("_cursor", cursor)
		}
		enc := v.Encode()
		if enc == "" {
			return url0
		}
		return url0 + "?" + enc
	}
	self := mk(q.Cursor)
	if q.Cursor == "" && q.Offset > 0 {
		self += sep(self) + "_offset=" + fmt.Sprint(q.Offset)
	}
	ls := []linkJSON{{Relation: "self", URL: self}, {Relation: "first", URL: mk("")}}
	if page.Prev != "" {
		ls = append(ls, linkJSON{Relation: "previous", URL: mk(page.Prev)})
	}
	if page.Next != "" {
		ls = append(ls, linkJSON{Relation: "next", URL: mk(page.Next)})
	}
	return ls
}

func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}
