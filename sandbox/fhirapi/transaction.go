package fhirapi

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// bundleIn is the part of a posted Bundle the processor reads; the rest
// was validated by fhirjson with the resources taken out.
type bundleIn struct {
	Type  string    `json:"type"`
	Entry []entryIn `json:"entry"`
}

type entryIn struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method      string `json:"method"`
		URL         string `json:"url"`
		IfMatch     string `json:"ifMatch"`
		IfNoneExist string `json:"ifNoneExist"`
	} `json:"request"`
}

// entry is one bundle entry ready to run.
type entry struct {
	index   int
	method  string
	typ, id string
	version int64 // vread
	ifMatch string
	fullURL string
	body    []byte // compacted resource; references rewritten in a transaction
	res     *fhirjson.Resource
	newID   string // a transaction's server-assigned id for a POST
	// criteria are the search of a conditional PUT or DELETE (Type?criteria)
	// and ifNoneExist that of a conditional create; existing is the
	// resource a conditional create found instead of creating.
	criteria, ifNoneExist string
	existing              *fhirstore.Resource
	result                *fhirstore.Resource
	status                int
	errResult             *outcome.Error
}

// methodOrder is the processing order of a transaction (FHIR http.html#trules).
var methodOrder = map[string]int{"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}

// bundle serves POST [base] with a transaction or batch Bundle.
func (a *API) bundle(r *request, _ []string) {
	data, err := a.readBody(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	b, checkBundle, err := parseBundle(data)
	if err != nil {
		writeError(r.c, err)
		return
	}
	entries := make([]*entry, len(b.Entry))
	for i, e := range b.Entry {
		if entries[i], err = a.parseEntry(r, i, e); err != nil && b.Type == "transaction" {
			writeError(r.c, cmp.Or(checkBundle(), err))
			return
		}
		if err != nil {
			entries[i] = &entry{index: i, errResult: outcome.From(err)}
		}
	}
	ctx := r.c.Request.Context()
	if b.Type == "transaction" {
		if err := a.transaction(ctx, r, entries, checkBundle); err != nil {
			writeError(r.c, err)
			return
		}
	} else {
		prepareAll(entries)
		if err := checkBundle(); err != nil {
			writeError(r.c, err)
			return
		}
		for _, e := range entries {
			if e.errResult != nil {
				continue
			}
			err := a.store.Tx(ctx, func(tx fhirstore.Tx) error {
				if err := a.resolve(ctx, tx, r, e); err != nil {
					return err
				}
				return a.run(ctx, tx, r, e)
			})
			if err != nil {
				e.errResult = outcome.From(storeError(err, e.typ, e.id))
			}
		}
	}
	a.writeBundleResponse(r, b.Type+"-response", entries)
}

// prepare validates the entry's resource, after references were rewritten.
func (e *entry) prepare() error {
	if e.body == nil {
		return nil
	}
	res, err := fhirjson.Parse(e.body)
	if err != nil {
		return entryError(e.index, err)
	}
	if res.Type != e.typ {
		return entryError(e.index, outcome.New(http.StatusBadRequest, outcome.Invalid,
			"resource type %s does not match %s in request.url", res.Type, e.typ))
	}
	if e.method == "PUT" && e.criteria == "" {
		if err := checkUpdateID(e.typ, e.id, res); err != nil {
			return entryError(e.index, err)
		}
	}
	e.res = res
	return nil
}

// prepareAll validates the entries' resources on every core. A failing
// entry keeps its error in errResult; the errors are returned in entry order.
func prepareAll(entries []*entry) []error {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(entries); i += workers {
				if e := entries[i]; e.errResult == nil {
					if err := e.prepare(); err != nil {
						e.errResult = outcome.From(err)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	var errs []error
	for _, e := range entries {
		if e.errResult != nil {
			errs = append(errs, e.errResult)
		}
	}
	return errs
}

// transaction runs every entry in one store transaction, in the
// specification's order, after resolving the entries' fullUrls. checkBundle
// is the verdict on the rest of the Bundle, whose error comes first.
func (a *API) transaction(ctx context.Context, r *request, entries []*entry, checkBundle func() error) error {
	// Validation runs before the store transaction, on every core, so that
	// the single writer is held only for the writes. Targets that depend on
	// the store (conditional entries and references) stand in as
	// placeholders of their type: validation checks a reference's type,
	// never its id. The final rewrite in the transaction keeps the types.
	const placeholder = "0"
	provisional := map[string]string{}
	for _, e := range entries {
		if e.method == "POST" && e.ifNoneExist == "" {
			e.newID = fhirstore.NewID()
		}
		if e.fullURL != "" && (e.method == "POST" || e.method == "PUT") {
			id := e.newID
			if e.method == "PUT" && e.criteria == "" {
				id = e.id
			}
			if id == "" {
				id = placeholder
			}
			provisional[e.fullURL] = e.typ + "/" + id
		}
	}
	original := make([][]byte, len(entries))
	for i, e := range entries {
		if e.body == nil {
			continue
		}
		original[i] = e.body
		body, err := rewriteReferences(e.body, provisional, func(typ, _ string) (string, error) { return typ + "/" + placeholder, nil })
		if err != nil {
			return cmp.Or(checkBundle(), error(entryError(e.index, err)))
		}
		e.body = body
	}
	errs := prepareAll(entries)
	if err := checkBundle(); err != nil {
		return err
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return a.store.Tx(ctx, func(tx fhirstore.Tx) error {
		for _, e := range entries {
			if err := a.resolve(ctx, tx, r, e); err != nil {
				return entryError(e.index, err)
			}
			if e.method == "POST" && e.existing == nil && e.newID == "" {
				e.newID = fhirstore.NewID() // a conditional create that found nothing
			}
		}
		ids := map[string]string{} // fullUrl → Type/id
		seen := map[string]int{}
		for _, e := range entries {
			target := e.typ + "/" + e.id
			switch {
			case e.existing != nil:
				target = e.typ + "/" + e.existing.ID
			case e.method == "POST":
				target = e.typ + "/" + e.newID
			}
			if (e.method == "PUT" || e.method == "DELETE") && e.id != "" {
				if j, dup := seen[target]; dup {
					return entryError(e.index, outcome.New(http.StatusBadRequest, outcome.Duplicate,
						"%s is also the target of entry %d; a transaction may change a resource once", target, j))
				}
				seen[target] = e.index
			}
			if e.fullURL != "" && (e.method == "POST" || e.method == "PUT") {
				ids[e.fullURL] = target
			}
		}
		for i, e := range entries {
			if e.res == nil {
				continue
			}
			body, err := rewriteReferences(original[i], ids, func(typ, criteria string) (string, error) {
				found, err := a.matches(ctx, tx, r.sandbox, r.base, typ, criteria, 1)
				if err != nil {
					return "", err
				}
				if len(found) != 1 {
					return "", outcome.New(http.StatusPreconditionFailed, outcome.MultipleMatches,
						"conditional reference %s?%s matches %d resources; it must match exactly one", typ, criteria, len(found))
				}
				return typ + "/" + found[0].ID, nil
			})
			if err != nil {
				return entryError(e.index, err)
			}
			e.res.Body = body
		}
		order := append([]*entry(nil), entries...)
		sort.SliceStable(order, func(i, j int) bool { return methodOrder[order[i].method] < methodOrder[order[j].method] })
		for _, e := range order {
			if err := a.run(ctx, tx, r, e); err != nil {
				return entryError(e.index, storeError(err, e.typ, e.id))
			}
		}
		return nil
	})
}

// resolve evaluates a conditional create or update entry's search: a
// create that finds its resource does not create, an update takes the id of
// what it finds (or of its body, or a new one, when it finds nothing).
func (a *API) resolve(ctx context.Context, tx fhirstore.Tx, r *request, e *entry) error {
	var criteria string
	switch {
	case e.method == "POST" && e.ifNoneExist != "":
		criteria = e.ifNoneExist
	case e.method == "PUT" && e.criteria != "":
		criteria = e.criteria
	default:
		return nil
	}
	found, err := a.matches(ctx, tx, r.sandbox, r.base, e.typ, criteria, 1)
	switch {
	case err != nil:
		return err
	case len(found) > 1:
		return tooMany(e.typ, criteria)
	case len(found) == 1 && e.method == "POST":
		e.existing = found[0]
	case len(found) == 1:
		e.id = found[0].ID
	case e.method == "PUT":
		var head struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(e.body, &head)
		e.id = head.ID
		if e.id == "" {
			e.id = fhirstore.NewID()
		}
	}
	return nil
}

// run performs one entry on tx.
func (a *API) run(ctx context.Context, tx fhirstore.Tx, r *request, e *entry) error {
	var err error
	switch e.method {
	case "POST":
		if e.existing != nil {
			e.result, e.status = e.existing, http.StatusOK
			return nil
		}
		e.result, err = tx.Create(ctx, r.sandbox, e.res, e.newID)
		e.status = http.StatusCreated
	case "PUT":
		if e.criteria != "" {
			if e.res.ID != "" && e.res.ID != e.id {
				return outcome.New(http.StatusBadRequest, outcome.Invalid,
					"the criteria select %s/%s but the resource has id %q", e.typ, e.id, e.res.ID)
			}
			e.res.ID = e.id
		}
		opts, oerr := updateOptions(e.ifMatch)
		if oerr != nil {
			return oerr
		}
		var created bool
		e.result, created, err = tx.Update(ctx, r.sandbox, e.res, opts)
		e.status = http.StatusOK
		if created {
			e.status = http.StatusCreated
		}
	case "DELETE":
		e.status = http.StatusNoContent
		if e.criteria == "" {
			e.result, err = tx.Delete(ctx, r.sandbox, e.typ, e.id)
			break
		}
		limit := a.cfg.ConditionalDeleteMax
		found, ferr := a.matches(ctx, tx, r.sandbox, r.base, e.typ, e.criteria, limit)
		if ferr != nil {
			return ferr
		}
		if len(found) > limit {
			return outcome.New(http.StatusPreconditionFailed, outcome.MultipleMatches,
				"%s?%s matches more than %d resource(s), the most one conditional delete may remove", e.typ, e.criteria, limit)
		}
		for _, f := range found {
			if e.result, err = tx.Delete(ctx, r.sandbox, f.Type, f.ID); err != nil {
				break
			}
		}
	case "GET", "HEAD":
		if e.version > 0 {
			e.result, err = tx.VRead(ctx, r.sandbox, e.typ, e.id, e.version)
			if err == nil && e.result.Deleted() {
				err = &fhirstore.GoneError{Resource: e.result}
			}
		} else {
			e.result, err = tx.Read(ctx, r.sandbox, e.typ, e.id)
		}
		e.status = http.StatusOK
	}
	return err
}

// rewriteReferences replaces every reference to a fullUrl of the bundle by
// the Type/id it resolved to, and every conditional reference
// (Type?criteria) by what cond resolves it to; a urn:uuid or urn:oid
// reference that names no entry is an error.
func rewriteReferences(body []byte, ids map[string]string, cond func(typ, criteria string) (string, error)) ([]byte, error) {
	return fhirjson.MapReferences(body, func(ref string) (string, bool, error) {
		if target, ok := ids[ref]; ok {
			return target, true, nil
		}
		if strings.HasPrefix(ref, "urn:uuid:") || strings.HasPrefix(ref, "urn:oid:") {
			return "", false, outcome.New(http.StatusBadRequest, outcome.NotFound,
				"reference %q names no entry's fullUrl in this transaction", ref)
		}
		if typ, criteria, ok := strings.Cut(ref, "?"); ok && fhirjson.IsType(typ) && cond != nil {
			target, err := cond(typ, criteria)
			return target, err == nil, err
		}
		return "", false, nil
	})
}

// writeBundleResponse renders the response Bundle, its entries in the
// order of the request's.
func (a *API) writeBundleResponse(r *request, typ string, entries []*entry) {
	b := newBundle(typ, 0, nil)
	b.Total = nil
	// Entries carry their resources only when asked: bundles are large.
	representation := r.c.GetHeader("Prefer") != "" && preferReturn(r.c) == returnRepresentation
	for _, e := range entries {
		out := entryJSON{Response: &responseJSON{}}
		switch {
		case e.errResult != nil:
			out.Response.Status = fmt.Sprintf("%d %s", e.errResult.Status, http.StatusText(e.errResult.Status))
			out.Response.Outcome = e.errResult.JSON()
		default:
			out.Response.Status = fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
			if v := e.result; v != nil {
				out.Response.Etag = v.ETag()
				out.Response.LastModified = fhirjson.FormatInstant(v.LastUpdated)
				if e.method == "POST" || e.method == "PUT" {
					out.FullURL = r.base + "/" + v.Type + "/" + v.ID
					out.Response.Location = fmt.Sprintf("%s/%s/_history/%d", v.Type, v.ID, v.Version)
				}
				if e.method == "GET" || (representation && v.Body != nil) {
					out.Resource = v.Body
				}
			}
		}
		b.Entry = append(b.Entry, out)
	}
	writeBundle(r, b)
}
