// Package interaction holds the FHIR interactions of one sandbox, below
// HTTP: which interaction a request asks for (Route), and the Engine that
// performs those that are more than one store call (conditional create,
// update and delete, PATCH, batch and transaction, $everything,
// $validate) over a fhirstore.Store. The HTTP adapter (sandbox/fhirapi),
// the access guard, Bundle entries and connectors all read the same parsed
// Request and write through the same Engine, so that a path is routed one
// way only and a conditional write means one thing.
//
// It knows nothing of Gin or net/http handlers; method names are the HTTP
// verbs FHIR's REST API and Bundle.entry.request.method share, and the
// status codes of Status are those FHIR records in Bundle responses too.
// Headers, content negotiation and Prefer are the adapter's.
package interaction

import (
	"net/http"
	"strings"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// Kind is the FHIR interaction a request asks for.
type Kind int

// The interactions of the FHIR R4 RESTful API, as routed from a method and
// the path below a FHIR base.
const (
	Unknown           Kind = iota
	Capabilities           // GET metadata
	Read                   // GET/HEAD [type]/[id]
	VRead                  // GET [type]/[id]/_history/[vid]
	Update                 // PUT [type]/[id]
	ConditionalUpdate      // PUT [type]?criteria
	Patch                  // PATCH [type]/[id]
	Delete                 // DELETE [type]/[id]
	ConditionalDelete      // DELETE [type]?criteria
	Create                 // POST [type] (conditional with If-None-Exist)
	SearchType             // GET [type], POST [type]/_search
	SearchSystem           // GET [base], POST [base]/_search
	SearchCompartment      // GET Patient/[id]/[type]
	HistoryInstance        // GET [type]/[id]/_history
	HistoryType            // GET [type]/_history
	HistorySystem          // GET _history
	Bundle                 // POST [base]: a batch or transaction
	Operation              // an $operation at any level
)

var kindNames = [...]string{
	Unknown: "unknown", Capabilities: "capabilities", Read: "read", VRead: "vread",
	Update: "update", ConditionalUpdate: "conditional update", Patch: "patch",
	Delete: "delete", ConditionalDelete: "conditional delete", Create: "create",
	SearchType: "search", SearchSystem: "system search", SearchCompartment: "compartment search",
	HistoryInstance: "history", HistoryType: "type history", HistorySystem: "system history",
	Bundle: "batch/transaction", Operation: "operation",
}

// String names the interaction as the FHIR specification does.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "unknown"
	}
	return kindNames[k]
}

// IsSearch reports whether the interaction is a search (of a type, the
// system or a compartment).
func (k Kind) IsSearch() bool {
	return k == SearchType || k == SearchSystem || k == SearchCompartment
}

// Request is a routed FHIR request: the interaction and the parts of the
// path it names. Headers, query and body stay with whoever read them.
type Request struct {
	Method string
	Kind   Kind
	// Type is the resource type the path names: of the instance, of the
	// type-level interaction, or for SearchCompartment the searched type.
	Type string
	// ID is the instance id; for $export-status and $export-file it is the
	// export job.
	ID string
	// Version is the version id of a VRead or of $meta on a version; it is
	// not checked to be a number here.
	Version string
	// CompartmentType and Compartment name the compartment of a
	// SearchCompartment: Patient and its id.
	CompartmentType, Compartment string
	// Operation is the $name of an Operation.
	Operation string
	// Segments are the path segments below the base.
	Segments []string
}

// NotAllowedError refuses a method that the path does not take; Allow is
// the method that it does, for the Allow header.
type NotAllowedError struct {
	Outcome *outcome.Error
	Allow   string
}

func (e *NotAllowedError) Error() string { return e.Outcome.Error() }

// Unwrap returns the FHIR error.
func (e *NotAllowedError) Unwrap() error { return e.Outcome }

// Route parses the method and the path below a FHIR base ("Patient/1",
// "/Observation/_search", "") into a Request. The error is an
// *outcome.Error (or a *NotAllowedError) a client can act on: an unknown
// type, an invalid id, or a method or path no interaction serves.
func Route(method, path string) (*Request, error) {
	segs := splitPath(path)
	r := &Request{Method: method, Segments: segs}
	if len(segs) > 0 && !special(segs[0]) && segs[0] != "metadata" {
		r.Type = segs[0]
		if !fhirjson.IsType(r.Type) {
			return nil, outcome.New(outcome.Missing, outcome.NotSupported,
				"%q is not a FHIR R4 resource type known to this server", r.Type)
		}
	}
	if len(segs) > 1 && !special(segs[1]) {
		r.ID = segs[1]
		if !fhirjson.ValidID(r.ID) {
			return nil, outcome.New(outcome.Incorrect, outcome.Value,
				"%q is not a valid resource id (%s)", r.ID, fhirjson.IDRule)
		}
	}
	if len(segs) > 0 && (strings.HasPrefix(segs[0], "$") || strings.HasPrefix(segs[len(segs)-1], "$")) {
		return routeOperation(r)
	}
	if err := r.routeREST(); err != nil {
		return nil, err
	}
	return r, nil
}

// special reports whether a segment is a keyword (_history, _search) or an
// operation rather than a type or id.
func special(s string) bool { return strings.HasPrefix(s, "_") || strings.HasPrefix(s, "$") }

func get(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// only sets the kind when the method is want (GET also takes HEAD), and
// otherwise refuses the method naming the one the path takes.
func (r *Request) only(want string, k Kind) error {
	if r.Method == want || (want == http.MethodGet && r.Method == http.MethodHead) {
		r.Kind = k
		return nil
	}
	return &NotAllowedError{Allow: want, Outcome: outcome.New(outcome.NotAllowed, outcome.NotSupported,
		"%s is not allowed here; use %s", r.Method, want)}
}

func (r *Request) routeREST() error {
	segs, m := r.Segments, r.Method
	if m == http.MethodPatch && len(segs) == 2 && !strings.HasPrefix(segs[1], "_") {
		r.Kind = Patch
		return nil
	}
	switch len(segs) {
	case 0:
		switch {
		case m == http.MethodPost:
			r.Kind = Bundle
			return nil
		case get(m):
			r.Kind = SearchSystem
			return nil
		}
	case 1:
		switch s := segs[0]; {
		case s == "metadata":
			return r.only(http.MethodGet, Capabilities)
		case s == "_history":
			return r.only(http.MethodGet, HistorySystem)
		case s == "_search":
			return r.only(http.MethodPost, SearchSystem)
		case special(s):
		case m == http.MethodGet: // HEAD of a search is not served
			r.Kind = SearchType
			return nil
		case m == http.MethodPost:
			r.Kind = Create
			return nil
		case m == http.MethodPut:
			r.Kind = ConditionalUpdate
			return nil
		case m == http.MethodDelete:
			r.Kind = ConditionalDelete
			return nil
		}
	case 2:
		switch s := segs[1]; {
		case s == "_history":
			return r.only(http.MethodGet, HistoryType)
		case s == "_search":
			return r.only(http.MethodPost, SearchType)
		case special(s):
		case get(m):
			r.Kind = Read
			return nil
		case m == http.MethodPut:
			r.Kind = Update
			return nil
		case m == http.MethodDelete:
			r.Kind = Delete
			return nil
		}
	case 3:
		if segs[2] == "_history" && !strings.HasPrefix(segs[1], "_") {
			return r.only(http.MethodGet, HistoryInstance)
		}
		if !strings.HasPrefix(segs[1], "_") && !strings.HasPrefix(segs[2], "_") {
			return r.routeCompartment()
		}
	case 4:
		if segs[2] == "_history" && !strings.HasPrefix(segs[1], "_") {
			r.Version = segs[3]
			return r.only(http.MethodGet, VRead)
		}
	}
	return notRouted(m, segs)
}

// routeCompartment routes [type]/[id]/[type]: a compartment search, which
// this server serves for the Patient compartment.
func (r *Request) routeCompartment() error {
	if err := r.only(http.MethodGet, SearchCompartment); err != nil {
		return err
	}
	typ := r.Segments[2]
	if !fhirjson.IsType(typ) {
		return outcome.New(outcome.Missing, outcome.NotSupported,
			"%q is not a FHIR R4 resource type known to this server", typ)
	}
	if r.Type != "Patient" {
		return outcome.New(outcome.Incorrect, outcome.NotSupported,
			"compartment search is supported for the Patient compartment, not %s", r.Type)
	}
	r.CompartmentType, r.Compartment = r.Type, r.ID
	r.Type, r.ID = typ, ""
	return nil
}

// routeOperation routes a path whose first or last segment is $name.
func routeOperation(r *Request) (*Request, error) {
	segs, m := r.Segments, r.Method
	name := segs[len(segs)-1]
	if segs[0] == "$export-status" || segs[0] == "$export-file" {
		name = segs[0]
	}
	r.Operation = name
	var err error
	switch {
	case name == "$export-status" && len(segs) == 2:
		if m == http.MethodDelete {
			r.Kind = Operation
		} else {
			err = r.only(http.MethodGet, Operation)
		}
	case name == "$export-file" && len(segs) == 3:
		err = r.only(http.MethodGet, Operation)
	case name == "$export":
		err = r.only(http.MethodGet, Operation)
	case (name == "$meta" || name == "$meta-add" || name == "$meta-delete") &&
		(len(segs) == 3 || (len(segs) == 5 && segs[2] == "_history")):
		if len(segs) == 5 {
			r.Version = segs[3]
		}
		if name == "$meta" && m == http.MethodPost {
			r.Kind = Operation
		} else if name == "$meta" {
			err = r.only(http.MethodGet, Operation)
		} else {
			err = r.only(http.MethodPost, Operation)
		}
	case name == "$everything" && len(segs) == 3:
		err = r.only(http.MethodGet, Operation)
	case name == "$validate" && (len(segs) == 2 || len(segs) == 3):
		err = r.only(http.MethodPost, Operation)
	default:
		return nil, notRouted(m, segs)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// notRouted explains a request no interaction serves.
func notRouted(method string, segs []string) *outcome.Error {
	path := strings.Join(segs, "/")
	switch {
	case len(segs) > 0 && strings.HasPrefix(segs[len(segs)-1], "$"):
		return outcome.New(outcome.Unimplemented, outcome.NotSupported, "operation %s is not supported", segs[len(segs)-1])
	case len(segs) >= 1 && len(segs) <= 2 && !strings.HasPrefix(segs[0], "_"):
		return outcome.New(outcome.NotAllowed, outcome.NotSupported, "%s is not allowed on %s", method, path)
	}
	return outcome.New(outcome.Missing, outcome.NotFound, "no FHIR interaction at %q", "/"+path)
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
