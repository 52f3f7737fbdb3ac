package interaction

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

// EverythingRequest is Patient/[id]/$everything.
type EverythingRequest struct {
	Sandbox fhirstore.Sandbox
	// Base is the absolute FHIR base URL (Config.BaseURL when empty), for
	// which references in the record count as local.
	Base     string
	Type, ID string
	// Params are the request's parameters: _since, _type, _count, _cursor
	// (and _format, _pretty, which the engine ignores).
	Params url.Values
}

// EverythingPage is one page of a patient's record.
type EverythingPage struct {
	// Query is the search of the matches, whose Count, Summary and
	// Elements the page's Bundle keeps.
	Query *search.Query
	// Page holds the matches, their total, and the cursor of the next page.
	Page *fhirstore.SearchPage
	// Referenced are the resources the record references from outside the
	// compartment (search mode include).
	Referenced []*fhirstore.Resource
}

// Everything answers Patient/[id]/$everything: the patient's record as
// pages. Its matches are the Patient and every resource in its compartment
// (the specification's CompartmentDefinition), in the store's stable
// order; after them come, as search mode include, the resources those
// reference that lie outside the compartment (one level, each once, in
// Type/id order): the Device behind a series of measurements, the GP, the
// organisation, the Medication of a prescription. _type narrows both to
// the types named, and _since to resources updated at or after it. The
// total counts the matches.
//
// Under a search.Confinement to a Patient compartment (a patient-level
// token), another patient's $everything is refused, and referenced
// resources of a type that a Patient compartment can hold are left out:
// they lie in another patient's compartment or in none, never in this one.
func (e *Engine) Everything(ctx context.Context, req *EverythingRequest) (*EverythingPage, error) {
	if req.Type != "Patient" || req.ID == "" {
		return nil, outcome.New(outcome.Missing, outcome.NotSupported, "$everything is served at Patient/[id]/$everything")
	}
	r := &everythingRun{e: e, sandbox: req.Sandbox, base: e.base(req.Base), patient: req.ID}
	confined, isConfined := confinedPatient(ctx)
	if isConfined && confined != req.ID {
		return nil, outcome.New(outcome.Denied, outcome.Forbidden, "$everything is available for Patient/%s only", confined)
	}
	if _, err := e.store.Read(ctx, req.Sandbox, "Patient", req.ID); err != nil {
		return nil, StoreError(err, "Patient", req.ID)
	}
	params := req.Params
	ev, err := parseEverything(params)
	if err != nil {
		return nil, err
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
	q, err := search.Parse("", sq, search.Options{Base: r.base, DefaultCount: DefaultCount, MaxCount: MaxCount})
	if err != nil {
		return nil, err
	}
	q.Compartment = &search.Compartment{Type: "Patient", ID: req.ID}
	page := &fhirstore.SearchPage{}
	if ev.after != nil {
		page.Total = ev.after.Total
		q.Cursor = params.Get("_cursor")
	} else if len(ev.compartmentTypes) > 0 {
		if page, err = e.store.Search(ctx, req.Sandbox, fhirstore.SearchQuery{Query: q}); err != nil {
			return nil, err
		}
	}
	var referenced []*fhirstore.Resource
	if page.Next == "" && q.Count > 0 {
		// The last page of matches has room for referenced resources.
		if referenced, err = r.referencedPage(ctx, ev, q, page); err != nil {
			return nil, err
		}
	}
	return &EverythingPage{Query: q, Page: page, Referenced: referenced}, nil
}

// everythingRun is one $everything request being answered.
type everythingRun struct {
	e             *Engine
	sandbox       fhirstore.Sandbox
	base, patient string
}

// referencedPage returns the referenced resources that fill the room page
// leaves (q.Count less its matches), after the cursor's, and sets
// page.Next when more follow.
func (r *everythingRun) referencedPage(ctx context.Context, ev *everythingQuery, q *search.Query, page *fhirstore.SearchPage) ([]*fhirstore.Resource, error) {
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
	keys, err := r.referencedKeys(ctx, whole)
	if err != nil {
		return nil, err
	}
	after := ""
	if ev.after != nil {
		after = ev.after.After
	}
	referenced, more, err := r.readReferenced(ctx, ev, keys, after, q.Count-len(page.Matches))
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
		t, err := ParseInstant(since)
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
func (r *everythingRun) referencedKeys(ctx context.Context, whole []*fhirstore.Resource) ([]string, error) {
	if whole == nil {
		q := &search.Query{Types: compartmentTypes(), Compartment: &search.Compartment{Type: "Patient", ID: r.patient},
			Count: scanPage, Total: search.TotalNone}
		for {
			p, err := r.e.store.Search(ctx, r.sandbox, fhirstore.SearchQuery{Query: q})
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
func (r *everythingRun) readReferenced(ctx context.Context, ev *everythingQuery, keys []string, after string, room int) (out []*fhirstore.Resource, more bool, err error) {
	start, _ := slices.BinarySearch(keys, after)
	if start < len(keys) && keys[start] == after {
		start++
	}
	for _, k := range keys[start:] {
		typ, id, _ := strings.Cut(k, "/")
		if (len(ev.types) > 0 && !slices.Contains(ev.types, typ)) || !ev.mayInclude(typ) {
			continue
		}
		// The confinement's rule for referenced resources is mayInclude's
		// (types no patient's compartment holds are part of the record),
		// not the compartment's own: read them unconfined.
		v, err := r.e.store.Read(search.Unconfined(ctx), r.sandbox, typ, id)
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

// confinedPatient returns the patient whose compartment a confinement ctx
// carries holds the request in.
func confinedPatient(ctx context.Context) (string, bool) {
	c := search.ConfinementOf(ctx)
	if c == nil || c.Compartment.Type != "Patient" {
		return "", false
	}
	return c.Compartment.ID, true
}
