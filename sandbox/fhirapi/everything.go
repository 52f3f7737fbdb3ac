package fhirapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// everythingParams are the parameters Patient/[id]/$everything takes, and
// those its own paging links carry.
var everythingParams = map[string]bool{"_since": true, "_type": true, "_count": true,
	"_cursor": true, "_format": true, "_pretty": true}

// everything serves GET Patient/[id]/$everything: the patient's record as
// a paged searchset. Its matches are the Patient and every resource in its
// compartment (the specification's CompartmentDefinition), in the store's
// stable order; after them come, as search mode include, the resources
// those reference that lie outside the compartment (one level, each once,
// in Type/id order): the Device behind a series of measurements, the GP,
// the organisation, the Medication of a prescription. _type narrows both to
// the types named, and _since to resources updated at or after it.
// Bundle.total counts the matches.
//
// Under ConfineEverything (a patient-level token), referenced resources of
// a type that a Patient compartment can hold are left out: they lie in
// another patient's compartment or in none, never in this one.
func (a *API) everything(r *request, segs []string) {
	ctx := r.c.Request.Context()
	if r.typ != "Patient" || r.id == "" {
		writeError(r.c, outcome.New(outcome.Missing, outcome.NotSupported, "$everything is served at Patient/[id]/$everything"))
		return
	}
	confined, isConfined := confinedPatient(ctx)
	if isConfined && confined != r.id {
		writeError(r.c, outcome.New(outcome.Denied, outcome.Forbidden, "$everything is available for Patient/%s only", confined))
		return
	}
	if _, err := a.store.Read(ctx, r.sandbox, "Patient", r.id); err != nil {
		writeError(r.c, storeError(err, "Patient", r.id))
		return
	}
	params := r.c.Request.URL.Query()
	ev, err := parseEverything(params)
	if err != nil {
		writeError(r.c, err)
		return
	}
	ev.confined = isConfined
	// The matches: a compartment search by the store, unless the cursor is
	// already past them or _type names no compartment type.
	sq := url.Values{"_type": {strings.Join(ev.compartmentTypes, ",")}}
	for _, k := range []string{"_count", "_cursor"} {
		if v := params.Get(k); v != "" && (k != "_cursor" || ev.after == nil) {
			sq.Set(k, v)
		}
	}
	if !ev.since.IsZero() {
		sq.Set("_lastUpdated", "ge"+params.Get("_since"))
	}
	q, err := search.Parse("", sq, search.Options{Base: r.base, DefaultCount: defaultCount, MaxCount: maxCount})
	if err != nil {
		writeError(r.c, err)
		return
	}
	q.Compartment = &search.Compartment{Type: "Patient", ID: r.id}
	page := &fhirstore.SearchPage{}
	if ev.after != nil {
		page.Total = ev.after.Total
		q.Cursor = params.Get("_cursor")
	} else if len(ev.compartmentTypes) > 0 {
		if page, err = a.store.Search(ctx, r.sandbox, fhirstore.SearchQuery{Query: q}); err != nil {
			writeError(r.c, err)
			return
		}
	}
	var referenced []*fhirstore.Resource
	if page.Next == "" && q.Count > 0 {
		// The last page of matches has room for referenced resources.
		if referenced, err = a.referencedPage(ctx, r, ev, q, page); err != nil {
			writeError(r.c, err)
			return
		}
	}
	b, err := searchset(r, r.base+"/"+strings.Join(segs, "/"), params, q, page, referenced)
	if err != nil {
		writeError(r.c, err)
		return
	}
	writeBundle(r, b)
}

// referencedPage returns the referenced resources that fill the room page
// leaves (q.Count less its matches), after the cursor's, and sets
// page.Next when more follow.
func (a *API) referencedPage(ctx context.Context, r *request, ev *everythingQuery, q *search.Query, page *fhirstore.SearchPage) ([]*fhirstore.Resource, error) {
	if !slices.ContainsFunc(ev.types, ev.mayInclude) && len(ev.types) > 0 {
		return nil, nil // _type names no type a referenced resource may have
	}
	if len(page.Matches) == q.Count {
		// No room: the next page starts the referenced resources. Finding
		// out here whether there are any would gather the compartment's
		// references twice; the price is an empty last page when none are.
		page.Next = encodeRefCursor(refCursor{Total: page.Total})
		return nil, nil
	}
	var whole []*fhirstore.Resource
	if q.Cursor == "" && len(ev.types) == 0 && ev.since.IsZero() {
		whole = page.Matches // the first and only page is the compartment
	}
	keys, err := a.referencedKeys(ctx, r, whole)
	if err != nil {
		return nil, err
	}
	after := ""
	if ev.after != nil {
		after = ev.after.After
	}
	referenced, more, err := a.readReferenced(ctx, r.sandbox, ev, keys, after, q.Count-len(page.Matches))
	if err != nil {
		return nil, err
	}
	if more {
		last := after
		if n := len(referenced); n > 0 {
			last = referenced[n-1].Type + "/" + referenced[n-1].ID
		}
		page.Next = encodeRefCursor(refCursor{After: last, Total: page.Total})
	}
	return referenced, nil
}

// everythingQuery is a parsed $everything request.
type everythingQuery struct {
	types            []string // _type as given; none means every type
	compartmentTypes []string // the types of the matches
	since            time.Time
	after            *refCursor // set when the page starts among the referenced resources
	confined         bool
}

// mayInclude reports whether a referenced resource of type typ may be in
// the answer: under a confinement, not when a Patient compartment can hold
// it.
func (ev *everythingQuery) mayInclude(typ string) bool {
	return !ev.confined || !inCompartmentDefinition(typ)
}

func parseEverything(params url.Values) (*everythingQuery, error) {
	ev := &everythingQuery{}
	for k := range params {
		if !everythingParams[k] {
			return nil, outcome.New(outcome.Incorrect, outcome.NotSupported, "$everything does not take %s", k).At(k)
		}
	}
	if since := params.Get("_since"); since != "" {
		t, err := parseInstant(since)
		if err != nil {
			return nil, outcome.New(outcome.Incorrect, outcome.Value, "_since: %v", err).At("_since")
		}
		ev.since = t
	}
	if s := params.Get("_type"); s != "" {
		for _, t := range strings.Split(s, ",") {
			if !fhirjson.IsType(t) {
				return nil, outcome.New(outcome.Incorrect, outcome.Value, "_type: %q is not a FHIR R4 resource type", t).At("_type")
			}
			ev.types = append(ev.types, t)
			if inCompartmentDefinition(t) {
				ev.compartmentTypes = append(ev.compartmentTypes, t)
			}
		}
	} else {
		ev.compartmentTypes = compartmentTypes()
	}
	if c, ok := strings.CutPrefix(params.Get("_cursor"), refCursorPrefix); ok {
		rc, err := decodeRefCursor(c)
		if err != nil {
			return nil, err
		}
		ev.after = rc
	}
	return ev, nil
}

// compartmentTypes are Patient and the types in a Patient's compartment.
func compartmentTypes() []string {
	out := []string{"Patient"}
	for _, t := range fhirjson.Types() {
		if t != "Patient" && len(searchparam.PatientCompartment(t)) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// inCompartmentDefinition reports whether a resource of type t can lie in
// a Patient's compartment.
func inCompartmentDefinition(t string) bool {
	return t == "Patient" || len(searchparam.PatientCompartment(t)) > 0
}

// scanPage is how many compartment resources one statement reads when the
// references of the whole compartment are gathered.
const scanPage = 1000

// referencedKeys returns, sorted, the Type/id of every resource that the
// patient's compartment references and that is not in it. It reads the
// compartment whole (whole, when the caller has it already), and finds
// every literal reference in the bodies, not only those a search parameter
// indexes: Encounter.hospitalization.origin counts as much as
// Observation.device.
func (a *API) referencedKeys(ctx context.Context, r *request, whole []*fhirstore.Resource) ([]string, error) {
	if whole == nil {
		q := &search.Query{Types: compartmentTypes(), Compartment: &search.Compartment{Type: "Patient", ID: r.id},
			Count: scanPage, Total: search.TotalNone}
		for {
			p, err := a.store.Search(ctx, r.sandbox, fhirstore.SearchQuery{Query: q})
			if err != nil {
				return nil, err
			}
			whole = append(whole, p.Matches...)
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
	}
	members := make(map[string]bool, len(whole))
	for _, v := range whole {
		members[v.Type+"/"+v.ID] = true
	}
	refs := map[string]bool{}
	base := r.base + "/"
	for _, v := range whole {
		_, err := fhirjson.MapReferences(v.Body, func(ref string) (string, bool, error) {
			if k := localKey(ref, base); k != "" && !members[k] {
				refs[k] = true
			}
			return "", false, nil
		})
		if err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(refs))
	for k := range refs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// localKey returns Type/id of a reference to a resource of this server
// (relative, or absolute under base, which ends in a slash; a version is
// dropped), or "".
func localKey(ref, base string) string {
	ref = strings.TrimPrefix(ref, base)
	typ, rest, _ := strings.Cut(ref, "/")
	id, version, versioned := strings.Cut(rest, "/")
	if versioned {
		v, ok := strings.CutPrefix(version, "_history/")
		if !ok || !fhirjson.ValidID(v) {
			return ""
		}
	}
	if !fhirjson.IsType(typ) || !fhirjson.ValidID(id) {
		return ""
	}
	return ref[:len(typ)+1+len(id)]
}

// readReferenced reads, in key order after the key after, up to room of
// the referenced resources the request keeps (by _type, _since and the
// confinement), skipping those that do not exist or were deleted; more
// says whether another one follows.
func (a *API) readReferenced(ctx context.Context, sandbox string, ev *everythingQuery, keys []string, after string, room int) (out []*fhirstore.Resource, more bool, err error) {
	start, _ := slices.BinarySearch(keys, after)
	if start < len(keys) && keys[start] == after {
		start++
	}
	for _, k := range keys[start:] {
		typ, id, _ := strings.Cut(k, "/")
		if (len(ev.types) > 0 && !slices.Contains(ev.types, typ)) || !ev.mayInclude(typ) {
			continue
		}
		v, err := a.store.Read(ctx, sandbox, typ, id)
		var gone *fhirstore.GoneError
		switch {
		case errors.Is(err, fhirstore.ErrNotFound), errors.As(err, &gone):
			continue
		case err != nil:
			return nil, false, err
		}
		if v.LastUpdated.Before(ev.since) {
			continue
		}
		if len(out) == room {
			return out, true, nil
		}
		out = append(out, v)
	}
	return out, false, nil
}

// refCursorPrefix marks a paging cursor that starts among the referenced
// resources; the store's own cursors are base64 and never hold a dot.
const refCursorPrefix = "ref."

// refCursor continues $everything after the referenced resource After
// (Type/id; "" for the first), keeping the total of the first page.
type refCursor struct {
	After string `json:"a"`
	Total int    `json:"t"`
}

func encodeRefCursor(c refCursor) string {
	b, _ := json.Marshal(c) // strings and numbers only
	return refCursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeRefCursor(s string) (*refCursor, error) {
	bad := outcome.New(outcome.Incorrect, outcome.Value,
		"_cursor is not a paging cursor of this search; follow the bundle's links").At("_cursor")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c refCursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, bad
	}
	return &c, nil
}

type everythingKey struct{}

// ConfineEverything returns a context under which
// Patient/[patient]/$everything answers what a token confined to that
// patient's compartment may see: the compartment, and of the resources it
// references only those of types that no Patient compartment holds
// (Practitioner, Organization, Location, Device, Medication, …), which are
// part of the patient's record; never another Patient or a resource of
// another patient's compartment. Another patient's $everything is refused.
func ConfineEverything(ctx context.Context, patient string) context.Context {
	return context.WithValue(ctx, everythingKey{}, patient)
}

func confinedPatient(ctx context.Context) (string, bool) {
	p, ok := ctx.Value(everythingKey{}).(string)
	return p, ok
}
