package interaction

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// BundleRequest is a batch or transaction: POST [base] with a Bundle.
type BundleRequest struct {
	Sandbox fhirstore.Sandbox
	// Base is the absolute FHIR base URL the request came through
	// (Config.BaseURL when empty): entries' request.url may be under it,
	// and the response's fullUrls are.
	Base string
	// Body is the Bundle, of type transaction or batch.
	Body []byte
	// Representation asks for the resources written in the response
	// entries (Prefer: return=representation); otherwise only those that
	// GET entries read are there, for Bundles are large.
	Representation bool
	// Validated says that the caller, a connector in this process, vouches
	// that the Bundle is valid FHIR R4 as fhirjson.Parse judges it: the
	// Bundle without its entries' resources and each resource exactly as
	// the Bundle carries it (it ran fhirjson over them, or built them only
	// from parts its tests prove fhirjson takes). The engine then does not
	// parse them again with google/fhir, which costs more than the rest of
	// a small transaction; it still checks each resource's type and id
	// against its entry's request, rewrites references, and judges the
	// resources against the profiles the sandbox enforces. The HTTP API
	// never sets it: a Bundle from outside the process is always
	// validated.
	Validated bool
}

// bundleIn is the part of a posted Bundle the processor reads; the rest
// was validated by fhirjson with the resources taken out.
type bundleIn struct {
	Type  string    `json:"type"`
	Entry []entryIn `json:"entry"`
}

type entryIn struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *requestIn      `json:"request"`
}

// entry is one bundle entry ready to run.
type entry struct {
	index   int
	kind    Kind
	method  string
	typ, id string
	version int64 // vread
	ifMatch string
	fullURL string
	body    []byte // compacted resource; references rewritten in a transaction
	// settled is a transaction's body whose references were rewritten to
	// what they finally resolve to before the store transaction: none of
	// them stood for a conditional entry or a conditional reference.
	settled bool
	// vouched is a resource the caller vouches is valid R4
	// (BundleRequest.Validated): it is not parsed with google/fhir again.
	vouched bool
	res     *fhirjson.Resource
	newID   string // a transaction's server-assigned id for a POST
	// criteria are the search of a conditional PUT or DELETE (Type?criteria)
	// and ifNoneExist that of a conditional create; existing is the
	// resource a conditional create found instead of creating.
	criteria, ifNoneExist string
	existing              *fhirstore.Resource
	result                *fhirstore.Resource
	status                string
	errResult             *outcome.Error
}

// bundleRun is one Bundle being processed.
type bundleRun struct {
	e       *Engine
	sandbox fhirstore.Sandbox
	base    string
	// conf judges the resources the Bundle writes (nil: nothing enforced).
	conf *conformance
	// validated is BundleRequest.Validated.
	validated bool
}

// wrote tells the definition cache of the entries that may have written
// conformance resources, whether or not they succeeded.
func (r *bundleRun) wrote(entries []*entry) {
	for _, en := range entries {
		if en != nil && en.method != "GET" && en.method != "HEAD" && IsConformanceType(en.typ) {
			r.e.cfg.Definitions.Invalidate(r.sandbox)
			return
		}
	}
}

// methodOrder is the processing order of a transaction (FHIR http.html#trules).
var methodOrder = map[string]int{"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}

// Bundle processes a transaction (all entries or none, in the
// specification's order, fullUrls resolved and references rewritten) or a
// batch (each entry on its own) and returns the response Bundle. The error
// is the failure of a transaction as a whole, or of a Bundle that cannot be
// processed.
func (e *Engine) Bundle(ctx context.Context, req *BundleRequest) ([]byte, error) {
	bundlesRunning.Add(1)
	defer bundlesRunning.Add(-1)
	r := &bundleRun{e: e, sandbox: req.Sandbox, base: e.base(req.Base), validated: req.Validated}
	b, checkBundle, err := parseBundle(fhirjson.TrimBOM(req.Body), req.Validated)
	if err != nil {
		return nil, err
	}
	if r.conf, err = e.conformance(ctx, req.Sandbox); err != nil {
		return nil, err
	}
	entries := make([]*entry, len(b.Entry))
	defer r.wrote(entries)
	for i, in := range b.Entry {
		if entries[i], err = r.parseEntry(i, in); err != nil && b.Type == "transaction" {
			return nil, cmp.Or(checkBundle(), err)
		}
		if err != nil {
			entries[i] = &entry{index: i, errResult: outcome.From(err)}
		}
	}
	if b.Type == "transaction" {
		if err := r.transaction(ctx, entries, checkBundle); err != nil {
			return nil, err
		}
	} else {
		validate(entries, r.conf).wait()
		if err := checkBundle(); err != nil {
			return nil, err
		}
		for _, en := range entries {
			if en.errResult != nil {
				continue
			}
			err := e.store.Tx(ctx, func(tx fhirstore.Tx) error {
				if err := r.resolve(ctx, tx, en); err != nil {
					return err
				}
				return r.run(ctx, tx, en)
			})
			if err != nil {
				en.errResult = outcome.From(StoreError(err, en.typ, en.id))
			}
		}
	}
	return r.response(b.Type+"-response", entries, req.Representation)
}

// transaction runs every entry in one store transaction, in the
// specification's order, after resolving the entries' fullUrls. checkBundle
// is the verdict on the rest of the Bundle, whose error comes first.
func (r *bundleRun) transaction(ctx context.Context, entries []*entry, checkBundle func() error) error {
	original, err := provisionalBodies(entries)
	if err != nil {
		return cmp.Or(checkBundle(), err)
	}
	order := append([]*entry(nil), entries...)
	sort.SliceStable(order, func(i, j int) bool { return methodOrder[order[i].method] < methodOrder[order[j].method] })
	v := validate(order, r.conf)
	defer v.wait()
	// Validation's errors come first, as if it had all run before the store
	// transaction: the Bundle's, then the first invalid entry's.
	invalid := func() error {
		v.wait()
		if err := checkBundle(); err != nil {
			return err
		}
		for _, en := range entries {
			if en.errResult != nil {
				return en.errResult
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
	err = r.e.store.Tx(ctx, func(tx fhirstore.Tx) error {
		ids, err := r.targets(ctx, tx, entries)
		if err != nil {
			return err
		}
		final, err := r.finalBodies(ctx, tx, entries, original, ids)
		if err != nil {
			return err
		}
		for _, en := range order {
			if !v.valid(en) {
				return en.errResult
			}
			if en.res != nil {
				en.res.Body = final[en.index]
			}
			if err := r.run(ctx, tx, en); err != nil {
				return entryError(en.index, StoreError(err, en.typ, en.id))
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
	standIn := map[string]bool{} // fullUrls whose targets are placeholders
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
				standIn[e.fullURL] = true
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
		stood := false
		body, err := rewriteReferences(e.body, func(ref string) (string, bool) {
			target, ok := provisional[ref]
			stood = stood || standIn[ref]
			return target, ok
		}, func(typ, _ string) (string, error) {
			stood = true
			return typ + "/" + placeholder, nil
		})
		if err != nil {
			return nil, entryError(e.index, err)
		}
		e.body, e.settled = body, !stood
	}
	return original, nil
}

// targets resolves the conditional entries and returns what each fullUrl
// stands for (Type/id); a resource changed by two entries is an error.
func (r *bundleRun) targets(ctx context.Context, tx fhirstore.Tx, entries []*entry) (map[string]string, error) {
	for _, e := range entries {
		if err := r.resolve(ctx, tx, e); err != nil {
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
func (r *bundleRun) finalBodies(ctx context.Context, tx fhirstore.Tx, entries []*entry, original [][]byte, ids map[string]string) ([][]byte, error) {
	final := make([][]byte, len(entries))
	for i, e := range entries {
		if original[i] == nil {
			continue
		}
		if e.settled {
			// Every reference it rewrote resolved as it does now (ids holds
			// the same targets): the rewrite would give the same bytes.
			final[i] = e.body
			continue
		}
		body, err := rewriteReferences(original[i], lookup(ids), func(typ, criteria string) (string, error) {
			found, err := matches(ctx, tx, r.sandbox, r.base, typ, criteria, 1)
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

// resolve evaluates a conditional create or update entry's search, as the
// single interactions do: a create that finds its resource does not
// create, an update takes the id of what it finds (or of its body, or a
// new one, when it finds nothing).
func (r *bundleRun) resolve(ctx context.Context, tx fhirstore.Tx, e *entry) error {
	var criteria string
	switch {
	case e.kind == Create && e.ifNoneExist != "":
		criteria = e.ifNoneExist
	case e.kind == ConditionalUpdate:
		criteria = e.criteria
	default:
		return nil
	}
	found, err := matchOne(ctx, tx, r.sandbox, r.base, e.typ, criteria)
	if err != nil {
		return err
	}
	if e.kind == Create {
		e.existing = found
		return nil
	}
	var head struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(e.body, &head)
	if e.id, err = updateTarget(e.typ, found, head.ID); err != nil {
		return err
	}
	if e.id == "" {
		// A new resource, whose id the transaction's references need now.
		e.id = fhirstore.NewID()
	}
	return nil
}

// run performs one entry on tx.
func (r *bundleRun) run(ctx context.Context, tx fhirstore.Tx, e *entry) error {
	var err error
	switch e.kind {
	case Create:
		if e.existing != nil {
			e.result, e.status = e.existing, "200 OK"
			return nil
		}
		e.result, err = createIn(ctx, tx, r.sandbox, e.res, e.newID)
		e.status = "201 Created"
	case Update, ConditionalUpdate:
		if e.kind == ConditionalUpdate {
			e.res.ID = e.id
		}
		ifMatch, oerr := ParseIfMatch(e.ifMatch)
		if oerr != nil {
			return oerr
		}
		var created bool
		e.result, created, err = updateIn(ctx, tx, r.sandbox, e.res, ifMatch)
		e.status = "200 OK"
		if created {
			e.status = "201 Created"
		}
	case Delete:
		e.status = "204 No Content"
		e.result, err = deleteIn(ctx, tx, r.sandbox, e.typ, e.id)
	case ConditionalDelete:
		e.status = "204 No Content"
		e.result, _, err = deleteMatches(ctx, tx, r.sandbox, r.base, e.typ, e.criteria, r.e.cfg.ConditionalDeleteMax)
	case Read:
		e.result, err = tx.Read(ctx, r.sandbox, e.typ, e.id)
		e.status = "200 OK"
	case VRead:
		e.result, err = tx.VRead(ctx, r.sandbox, e.typ, e.id, e.version)
		if err == nil && e.result.Deleted() {
			err = &fhirstore.GoneError{Resource: e.result}
		}
		e.status = "200 OK"
	}
	return err
}

// lookup looks references up in ids (fullUrl → Type/id).
func lookup(ids map[string]string) func(ref string) (string, bool) {
	return func(ref string) (string, bool) {
		target, ok := ids[ref]
		return target, ok
	}
}

// rewriteReferences replaces every reference to a fullUrl of the bundle by
// the Type/id it resolved to (ids looks it up), and every conditional reference
// (Type?criteria) by what cond resolves it to; a urn:uuid or urn:oid
// reference that names no entry is an error.
func rewriteReferences(body []byte, ids func(ref string) (string, bool), cond func(typ, criteria string) (string, error)) ([]byte, error) {
	return fhirjson.MapReferences(body, func(ref string) (string, bool, error) {
		if target, ok := ids(ref); ok {
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

// response renders the response Bundle, its entries in the order of the
// request's.
func (r *bundleRun) response(typ string, entries []*entry, representation bool) ([]byte, error) {
	now := time.Now()
	b := &fhirjson.Bundle{ResourceType: "Bundle", ID: fmt.Sprintf("%x", now.UnixNano()),
		Meta: fhirjson.BundleMeta{LastUpdated: fhirjson.FormatInstant(now)}, Type: typ}
	for _, e := range entries {
		out := fhirjson.BundleEntry{Response: &fhirjson.BundleResponse{}}
		switch {
		case e.errResult != nil:
			out.Response.Status = StatusLine(e.errResult)
			out.Response.Outcome = e.errResult.JSON()
		default:
			out.Response.Status = e.status
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
	return b.AppendJSON(make([]byte, 0, b.SizeHint()))
}
