package fhirapi

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
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
	bundlesRunning.Add(1)
	defer bundlesRunning.Add(-1)
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
		validate(entries).wait()
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

// transaction runs every entry in one store transaction, in the
// specification's order, after resolving the entries' fullUrls. checkBundle
// is the verdict on the rest of the Bundle, whose error comes first.
func (a *API) transaction(ctx context.Context, r *request, entries []*entry, checkBundle func() error) error {
	original, err := provisionalBodies(entries)
	if err != nil {
		return cmp.Or(checkBundle(), err)
	}
	order := append([]*entry(nil), entries...)
	sort.SliceStable(order, func(i, j int) bool { return methodOrder[order[i].method] < methodOrder[order[j].method] })
	v := validate(order)
	defer v.wait()
	// Validation's errors come first, as if it had all run before the store
	// transaction: the Bundle's, then the first invalid entry's.
	invalid := func() error {
		v.wait()
		if err := checkBundle(); err != nil {
			return err
		}
		for _, e := range entries {
			if e.errResult != nil {
				return e.errResult
			}
		}
		return nil
	}
	// Alone, the transaction takes the writer at once and writes each entry
	// as soon as it is valid, so that validation and writes overlap. Beside
	// other Bundles it validates first: the single writer is then held only
	// for writes, not while the entries compete for the CPU.
	if bundlesRunning.Load() > 1 {
		if err := invalid(); err != nil {
			return err
		}
	}
	err = a.store.Tx(ctx, func(tx fhirstore.Tx) error {
		ids, err := a.targets(ctx, tx, r, entries)
		if err != nil {
			return err
		}
		final, err := a.finalBodies(ctx, tx, r, entries, original, ids)
		if err != nil {
			return err
		}
		for _, e := range order {
			if !v.valid(e) {
				return e.errResult
			}
			if e.res != nil {
				e.res.Body = final[e.index]
			}
			if err := a.run(ctx, tx, r, e); err != nil {
				return entryError(e.index, storeError(err, e.typ, e.id))
			}
		}
		return invalid()
	})
	if err != nil {
		return cmp.Or(invalid(), err)
	}
	return nil
}

// bundlesRunning counts the Bundles the process is serving; they share its
// CPU.
var bundlesRunning atomic.Int32

// provisionalBodies gives the POST entries their new ids and rewrites the
// entries' references for validation, which needs no store: targets that
// depend on it (conditional entries and references) stand in as
// placeholders of their type, for validation checks a reference's type,
// never its id. It returns the bodies as posted, which the final rewrite
// in the transaction starts from.
func provisionalBodies(entries []*entry) (original [][]byte, err error) {
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
	original = make([][]byte, len(entries))
	for i, e := range entries {
		if e.body == nil {
			continue
		}
		original[i] = e.body
		body, err := rewriteReferences(e.body, provisional, func(typ, _ string) (string, error) { return typ + "/" + placeholder, nil })
		if err != nil {
			return nil, entryError(e.index, err)
		}
		e.body = body
	}
	return original, nil
}

// targets resolves the conditional entries and returns what each fullUrl
// stands for (Type/id); a resource changed by two entries is an error.
func (a *API) targets(ctx context.Context, tx fhirstore.Tx, r *request, entries []*entry) (map[string]string, error) {
	for _, e := range entries {
		if err := a.resolve(ctx, tx, r, e); err != nil {
			return nil, entryError(e.index, err)
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
				return nil, entryError(e.index, outcome.New(outcome.Incorrect, outcome.Duplicate,
					"%s is also the target of entry %d; a transaction may change a resource once", target, j))
			}
			seen[target] = e.index
		}
		if e.fullURL != "" && (e.method == "POST" || e.method == "PUT") {
			ids[e.fullURL] = target
		}
	}
	return ids, nil
}

// finalBodies rewrites the references of the posted bodies to what they
// resolved to. It runs before the first write, so that conditional
// references find what was there before the transaction.
func (a *API) finalBodies(ctx context.Context, tx fhirstore.Tx, r *request, entries []*entry, original [][]byte, ids map[string]string) ([][]byte, error) {
	final := make([][]byte, len(entries))
	for i, e := range entries {
		if original[i] == nil {
			continue
		}
		body, err := rewriteReferences(original[i], ids, func(typ, criteria string) (string, error) {
			found, err := a.matches(ctx, tx, r.sandbox, r.base, typ, criteria, 1)
			if err != nil {
				return "", err
			}
			if len(found) != 1 {
				return "", outcome.New(outcome.PreconditionFailed, outcome.MultipleMatches,
					"conditional reference %s?%s matches %d resources; it must match exactly one", typ, criteria, len(found))
			}
			return typ + "/" + found[0].ID, nil
		})
		if err != nil {
			return nil, entryError(e.index, err)
		}
		final[i] = body
	}
	return final, nil
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
				return outcome.New(outcome.Incorrect, outcome.Invalid,
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
			return outcome.New(outcome.PreconditionFailed, outcome.MultipleMatches,
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
			return "", false, outcome.New(outcome.Incorrect, outcome.NotFound,
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
			out.Response.Status = interaction.StatusLine(e.errResult)
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
