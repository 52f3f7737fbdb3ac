package jft

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/helseid"
	"hpsandbox/connectors/nin"
	"hpsandbox/connectors/vkp"
	"hpsandbox/connectors/vkp/spec"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/profile"
)

// ID is the connector's id.
const ID = "jft"

// MaxMessageBytes is the journaling service's request limit.
const MaxMessageBytes = 1 << 20

// Types are the resource types a sender submits.
var Types = []string{"Bundle", "Composition", "MedicationDispense"}

// apiPath is where the service's API starts below the connector.
const apiPath = "/jft/v1"

// checkIdentities is the test-data guard (package connectors/nin): it
// refuses a submission in which a national identity number is not
// synthetic, before anything is stored, naming where it is but never the
// number.
func checkIdentities(doc []byte, allow []string) error {
	if e := nin.Check(doc, allow); e != nil {
		return e
	}
	return nil
}

// Connector is the JFT emulator. Make it with Open.
type Connector struct {
	engine connectors.Engine
	log    *slog.Logger
	now    func() time.Time
	// faults are the sandbox's injected faults (the hub's settings).
	faults *vkp.Faults
	// locks serialise the submissions of one business identifier and the
	// changes of one submission's lifecycle, so that a retry racing its
	// original stores one copy; shared by the gateways of a deployment
	// when Deps.Locker is.
	locks connectors.Locker
}

var (
	_ connectors.RouteConnector   = (*Connector)(nil)
	_ connectors.CheckConnector   = (*Connector)(nil)
	_ connectors.ProfileConnector = (*Connector)(nil)
)

// Open is the connector's connectors.Opener.
func Open(deps connectors.Deps) (connectors.Connector, error) {
	if deps.Engine == nil {
		return nil, errors.New("jft: no engine to write through")
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &Connector{engine: deps.Engine, log: log, now: now, faults: vkp.NewFaults(ID, nil, deps), locks: deps.Locks()}, nil
}

// ID implements connectors.Connector.
func (c *Connector) ID() string { return ID }

// Description implements connectors.Connector.
func (c *Connector) Description() string {
	return "JFT (Journalføringstjenesten): takes documents and dispensings for the EHR's journal, which reads and acknowledges them"
}

// Routes implements connectors.RouteConnector.
func (c *Connector) Routes() []connectors.Route {
	var rs []connectors.Route
	for _, typ := range Types {
		p := apiPath + "/" + typ
		rs = append(rs,
			connectors.Route{Method: http.MethodPost, Path: p, Summary: "submit a " + typ + " for journaling (202 with Location)", Handler: c.handle(typ, c.submit)},
			connectors.Route{Method: http.MethodGet, Path: p, Summary: "EHR side: list " + typ + " submissions (_lastUpdated, _tag, _tag:not, _count, cursor paging)", Handler: c.handle(typ, c.search)},
			connectors.Route{Method: http.MethodGet, Path: p + "/{id}", Summary: "EHR side: read a " + typ + " submission (marks it read)", Handler: c.handle(typ, c.read)},
			connectors.Route{Method: http.MethodGet, Path: p + "/{id}/$status", Summary: "the submission's state and timestamps", Handler: c.handle(typ, c.status)},
			connectors.Route{Method: http.MethodPost, Path: p + "/{id}/$journaling-acknowledged", Summary: "EHR side: acknowledge a submission as journaled or failed", Handler: c.handle(typ, c.acknowledge)},
		)
	}
	return append(rs, c.faults.Routes()...)
}

// request is one admitted request.
type request struct {
	caller connectors.Caller
	typ    string
	body   []byte
	r      *http.Request
}

func (q *request) sandbox() fhirstore.Sandbox { return fhirstore.Sandbox(q.caller.Sandbox) }

// handle admits a request (a sandbox, a DPoP-bound token with nhn:jft/api
// when a token is presented, a body within the limit) and calls h.
func (c *Connector) handle(typ string, h func(w http.ResponseWriter, q *request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, ok := connectors.CallerFrom(r.Context())
		if !ok {
			connectors.WriteOutcome(w, outcome.New(outcome.Fault, outcome.Exception, "no sandbox for the request"))
			return
		}
		if refusal := helseid.Require(caller, helseid.JFTScope); refusal != nil {
			refusal.Write(w)
			return
		}
		q := &request{caller: caller, typ: typ, r: r}
		if r.Method == http.MethodPost {
			body, err := connectors.ReadBody(w, r, MaxMessageBytes)
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				connectors.WriteOutcome(w, outcome.New(outcome.TooLarge, outcome.TooLong,
					"the body is larger than the journaling service's limit of %d bytes (1 MB)", MaxMessageBytes))
				return
			case err != nil:
				connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.Structure, "the body could not be read"))
				return
			}
			q.body = body
		}
		h(w, q)
	})
}

// transient is the FHIR R4 issue type of a failure that may go away on
// its own.
const transient outcome.Code = "transient"

// lock takes the lock of key. When it cannot (the shared locks do not
// answer, or stay held past their bound), it answers 503 and returns
// false: doing the work unserialised could store a retry twice.
func (c *Connector) lock(w http.ResponseWriter, q *request, key string) (func(), bool) {
	unlock, err := c.locks.Lock(q.r.Context(), q.caller.Sandbox+"\x00"+key)
	if err != nil {
		c.log.Warn("jft: no lock", "sandbox", q.caller.Sandbox, "err", err)
		w.Header().Set("Retry-After", "1")
		connectors.WriteOutcome(w, outcome.New(outcome.Busy, transient,
			"the journaling service is busy with this submission elsewhere; try again"))
		return nil, false
	}
	return unlock, true
}

// submit takes a submission: validated, guarded, stored as registered, or
// for a retry of one already taken (same business identifier) answered as
// the original was, storing nothing more.
func (c *Connector) submit(w http.ResponseWriter, q *request) {
	ctx := q.r.Context()
	typ, ident, err := head(q.body)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	if typ != q.typ {
		connectors.WriteOutcome(w, outcome.New(outcome.Unprocessable, outcome.Invalid,
			"this endpoint takes %s, not %s", outcome.Article(q.typ), describe(typ)).At("resourceType"))
		return
	}
	f, allow := c.faults.Next(ctx, q.caller)
	if c.faults.Inject(w, q.r, f) {
		return
	}
	if err := checkIdentities(q.body, allow); err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	if err := validateProfiles(q.body); err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	if ident != "" {
		unlock, ok := c.lock(w, q, q.typ+"\x00"+ident)
		if !ok {
			return
		}
		defer unlock()
		// By identifier alone, uncounted: the cheapest query the store
		// answers from its index; what is no submission is passed over.
		prev, err := c.engine.Search(ctx, q.sandbox(), q.typ, url.Values{"identifier": {ident}, "_count": {"20"}, "_total": {"none"}})
		if err != nil {
			connectors.WriteOutcome(w, err)
			return
		}
		for _, m := range prev.Matches {
			if _, ok := lifecycleOf(m.Body); ok {
				c.accepted(w, q, m.ID, "a retry of a submission already taken; nothing more was stored")
				return
			}
		}
	}
	body, err := withLifecycle(q.body, Lifecycle{State: Registered, Registered: c.now()})
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	stored, err := c.engine.Create(ctx, q.sandbox(), body)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	if f.Duplicate() {
		// Delivered twice, as a service that delivers at least once may:
		// the reader sees two submissions of one business identifier.
		if _, err := c.engine.Create(ctx, q.sandbox(), body); err != nil {
			c.log.Warn("jft: the duplicate delivery a fault injects failed", "sandbox", q.caller.Sandbox, "err", err)
		}
	}
	c.accepted(w, q, stored.ID, "taken for journaling")
}

func (c *Connector) accepted(w http.ResponseWriter, q *request, id, what string) {
	loc := mountPath(q.r) + apiPath + "/" + q.typ + "/" + id
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(outcome.JSON([]outcome.Issue{{Severity: outcome.Information, Code: outcome.Informational,
		Diagnostics: fmt.Sprintf("%s/%s %s; follow its state at %s/$status", q.typ, id, what, loc)}}))
}

// submission reads a stored submission of the request's type.
func (c *Connector) submission(ctx context.Context, q *request) (*fhirstore.Resource, Lifecycle, error) {
	id := q.r.PathValue("id")
	r, err := c.engine.Read(ctx, q.sandbox(), q.typ, id)
	if err != nil {
		return nil, Lifecycle{}, err
	}
	l, ok := lifecycleOf(r.Body)
	if !ok {
		return nil, l, outcome.New(outcome.Missing, outcome.NotFound, "%s/%s is not a submission to the journaling service", q.typ, id)
	}
	return r, l, nil
}

func (c *Connector) status(w http.ResponseWriter, q *request) {
	r, l, err := c.submission(q.r.Context(), q)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	writeFHIR(w, http.StatusOK, statusParameters(r.ID, l))
}

// read answers a submission to the EHR side and marks it read the first
// time.
func (c *Connector) read(w http.ResponseWriter, q *request) {
	ctx := q.r.Context()
	unlock, ok := c.lock(w, q, q.typ+"/"+q.r.PathValue("id"))
	if !ok {
		return
	}
	defer unlock()
	r, l, err := c.submission(ctx, q)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	if l.State == Registered {
		l.State, l.Read = Read, c.now()
		if r, err = c.update(ctx, q, r, l); err != nil {
			connectors.WriteOutcome(w, err)
			return
		}
	}
	w.Header().Set("ETag", r.ETag())
	writeFHIR(w, http.StatusOK, r.Body)
}

// acknowledge records the EHR's journaling outcome. Repeating the same
// acknowledgement answers as the first did; a different one after it is a
// conflict.
func (c *Connector) acknowledge(w http.ResponseWriter, q *request) {
	state, reason, err := acknowledgement(q.body)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	ctx := q.r.Context()
	unlock, ok := c.lock(w, q, q.typ+"/"+q.r.PathValue("id"))
	if !ok {
		return
	}
	defer unlock()
	r, l, err := c.submission(ctx, q)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	switch {
	case l.State == state && l.Reason == reason:
		writeFHIR(w, http.StatusOK, statusParameters(r.ID, l))
		return
	case l.State == Journaled || l.State == Failed:
		connectors.WriteOutcome(w, outcome.New(outcome.Conflicting, outcome.Conflict,
			"%s/%s was already acknowledged as %s", q.typ, r.ID, l.State))
		return
	}
	now := c.now()
	l.State, l.Reason = state, reason
	if state == Journaled {
		l.Journaled = now
	} else {
		l.Failed = now
	}
	if _, err := c.update(ctx, q, r, l); err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	writeFHIR(w, http.StatusOK, statusParameters(r.ID, l))
}

// update stores l in r's meta as r's next version.
func (c *Connector) update(ctx context.Context, q *request, r *fhirstore.Resource, l Lifecycle) (*fhirstore.Resource, error) {
	body, err := withLifecycle(r.Body, l)
	if err != nil {
		return nil, err
	}
	return c.engine.Update(ctx, q.sandbox(), body, r.Version)
}

func writeFHIR(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// mountPath is the path the connector is mounted at, from the request's
// original URI (the Set hands the route the path below the mount).
func mountPath(r *http.Request) string {
	uri, _, _ := strings.Cut(r.RequestURI, "?")
	if i := strings.LastIndex(uri, apiPath+"/"); i >= 0 {
		return uri[:i]
	}
	return ""
}

// head reads a submission's resourceType and business identifier
// (system|value; "" without one).
func head(body []byte) (typ, ident string, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", "", outcome.New(outcome.Incorrect, outcome.Required, "the body is empty; send a FHIR resource in JSON")
	}
	var h struct {
		ResourceType string          `json:"resourceType"`
		Identifier   json.RawMessage `json:"identifier"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return "", "", outcome.New(outcome.Incorrect, outcome.Structure, "the body is not a FHIR resource in JSON")
	}
	var ids []struct{ System, Value string }
	var one struct{ System, Value string }
	if json.Unmarshal(h.Identifier, &one) == nil && one.Value != "" {
		ids = append(ids, one)
	} else {
		_ = json.Unmarshal(h.Identifier, &ids)
	}
	for _, id := range ids {
		if id.System != "" && id.Value != "" && !strings.ContainsAny(id.System+id.Value, ",|$\\") {
			return h.ResourceType, id.System + "|" + id.Value, nil
		}
	}
	return h.ResourceType, "", nil
}

func describe(typ string) string {
	if typ == "" {
		return "a body without resourceType"
	}
	return outcome.Article(typ)
}

// validateProfiles checks a resource that declares a VKP profile against
// it (the engine checks every write against FHIR R4 itself).
func validateProfiles(body []byte) error {
	var h struct {
		Meta struct {
			Profile []string `json:"profile"`
		} `json:"meta"`
	}
	if json.Unmarshal(body, &h) != nil {
		return nil
	}
	declares := false
	for _, p := range h.Meta.Profile {
		if strings.Contains(p, "/StructureDefinition/vkp-") {
			declares = true
		}
	}
	if !declares {
		return nil
	}
	defs, err := spec.Definitions()
	if err != nil {
		return err
	}
	issues := defs.Validate(body, profile.Options{})
	if !profile.HasErrors(issues) {
		return nil
	}
	return &outcome.Error{Category: outcome.Unprocessable, Issues: profile.OutcomeIssues(issues)}
}
