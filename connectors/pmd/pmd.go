// Package pmd emulates PMD, the national service for patient-measured
// data that succeeds the welfare-technology hub's measurements: suppliers
// of home-measurement devices upload measurements as collection Bundles
// tagged with the receiving municipality's number, and clinicians' systems
// search a person's measurements by national identity number.
//
// # Endpoints
//
// Below the connector's mount (/connectors/pmd, or
// /sandboxes/{sandbox}/connectors/pmd):
//
//	POST /Bundle               a collection Bundle of Observations and QuestionnaireResponses,
//	                           Bundle.meta.tag with system urn:oid:2.16.578.1.12.4.1.1.3402
//	                           and the municipality number (fixtures.Municipalities)
//	POST /Observation/_search  a form with patient.identifier=system|value (required), and
//	                           date, code, category, _count, _sort as the FHIR API takes them;
//	                           the next link carries only _cursor (the identity number stays
//	                           out of URLs): POST it with the same form
//	GET|PUT /settings          the sandbox's faults and allow-list (vkp.Settings)
//
// An upload is judged as the hub judges measurements (vkp.Parse: the
// test-data guard of package connectors/nin, one person by national
// identity number, the VKP Observation profiles, which PMD's measurement
// profiles follow) and stored as the hub stores them (vkp.Deliver): on the
// patient found by identifier, or a registered synthetic person, with
// retry-safe conditional updates of resources with their own urn:uuid
// identifier. Faults are injected as the hub's are (vkp.Faults).
//
// Access: without a token (an open sandbox) everything is allowed; a token
// must be DPoP-bound and proven and grant
// nhn:pmd/api/user/Observation.{write|read|*} (and QuestionnaireResponse
// for those). Its checks are the hub's submission checks with ids prefixed
// pmd-, plus the municipality tag, under the profile "PMD sender".
package pmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"hpsandbox/connectors"
	"hpsandbox/connectors/vkp"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fixtures"
)

// ID is the connector's id.
const ID = "pmd"

// SystemMunicipality is the identifier system of Norwegian municipality
// numbers, which tags an upload with its receiver.
const SystemMunicipality = "urn:oid:2.16.578.1.12.4.1.1.3402"

// ScopePrefix starts the scopes of PMD's API.
const ScopePrefix = "nhn:pmd/api/user/"

// Options configure the connector beyond what the gateway gives it.
type Options struct {
	// Allow are identity numbers the test-data guard lets pass.
	Allow []string
	// Authorize decides whether the caller may use resource (nil:
	// Authorize).
	Authorize func(c connectors.Caller, resource string, write bool) error
}

// Connector is the PMD emulator. Make it with Open or OpenWith.
type Connector struct {
	engine connectors.Engine
	log    *slog.Logger
	opts   Options
	munis  map[string]fixtures.Municipality // by municipality number
	faults *vkp.Faults
}

var (
	_ connectors.RouteConnector = (*Connector)(nil)
	_ connectors.CheckConnector = (*Connector)(nil)
)

// Open is the connector's connectors.Opener.
func Open(deps connectors.Deps) (connectors.Connector, error) { return OpenWith(Options{})(deps) }

// OpenWith returns an Opener of the connector with opts.
func OpenWith(opts Options) connectors.Opener {
	return func(deps connectors.Deps) (connectors.Connector, error) {
		if deps.Engine == nil {
			return nil, errors.New("pmd: no engine to write through")
		}
		log := deps.Logger
		if log == nil {
			log = slog.Default()
		}
		if opts.Authorize == nil {
			opts.Authorize = Authorize
		}
		munis := map[string]fixtures.Municipality{}
		for _, m := range fixtures.Municipalities() {
			munis[m.Code] = m
		}
		return &Connector{engine: deps.Engine, log: log, opts: opts, munis: munis, faults: vkp.NewFaults(ID, nil, deps)}, nil
	}
}

// ID implements connectors.Connector.
func (c *Connector) ID() string { return ID }

// Description implements connectors.Connector.
func (c *Connector) Description() string {
	return "PMD (patient-measured data): measurement uploads as collection Bundles, and a person's measurements by identity number"
}

// ProfileSender is the conformance profile of a system uploading
// measurements.
const ProfileSender = "pmd-sender"

// Profiles implements connectors.ProfileConnector: one profile of every
// check, for the systems that upload measurements.
func (c *Connector) Profiles() []connectors.CheckProfile {
	return []connectors.CheckProfile{{ID: ProfileSender, Title: "PMD sender",
		Description: "A system that uploads patient measurements: collection Bundles tagged with the municipality, valid measurement profiles, synthetic persons, zoned times.",
		Checks:      connectors.CheckIDs(c.Checks())}}
}

// Routes implements connectors.RouteConnector.
func (c *Connector) Routes() []connectors.Route {
	return append([]connectors.Route{
		{Method: http.MethodPost, Path: "/Bundle", Summary: "upload measurements: a collection Bundle tagged with the municipality number", Handler: http.HandlerFunc(c.upload)},
		{Method: http.MethodPost, Path: "/Observation/_search", Summary: "a person's measurements by patient.identifier", Handler: http.HandlerFunc(c.search)},
	}, c.faults.Routes()...)
}

// Checks implements connectors.CheckConnector.
func (c *Connector) Checks() []connectors.Check {
	isUpload := func(x *connectors.Exchange) bool {
		return x.Kind == http.MethodPost && strings.HasSuffix(x.Path, "/connectors/"+ID+"/Bundle")
	}
	return append(vkp.SubmissionChecks(ID, "PMD", isUpload, vkp.Measurements), connectors.Check{
		ID: ID + "-municipality-tag", Description: "An upload is a collection Bundle tagged (Bundle.meta.tag, system " + SystemMunicipality + ") with the number of a municipality.",
		Judge: func(x *connectors.Exchange) connectors.Result {
			if x.Connector != ID || !isUpload(x) || x.Status == http.StatusTooManyRequests || x.Status == http.StatusServiceUnavailable ||
				x.Status == http.StatusUnauthorized || x.Status == http.StatusForbidden {
				return connectors.Result{Verdict: connectors.NotApplicable}
			}
			if _, err := c.receiver(x.Request); err != nil {
				return connectors.Result{Verdict: connectors.Fail, Issues: outcome.From(err).Issues}
			}
			return connectors.Result{Verdict: connectors.Pass}
		},
	})
}

// Authorize is PMD's access rule: without a token everything is allowed; a
// token must be DPoP-bound and proven, and grant
// nhn:pmd/api/user/{resource}.{read|write|*}.
func Authorize(c connectors.Caller, resource string, write bool) error {
	if !c.Token {
		return nil
	}
	if c.Grant == nil || c.Grant.DPoPKey == "" || !c.DPoP {
		return outcome.New(outcome.Denied, outcome.Security,
			"PMD takes DPoP-bound access tokens only (HelseID, RFC 9449): send the token as 'Authorization: DPoP …' with a DPoP proof of its key")
	}
	action := "read"
	if write {
		action = "write"
	}
	for _, s := range c.Grant.Scope {
		if rest, ok := strings.CutPrefix(s, ScopePrefix); ok && (rest == resource+"."+action || rest == resource+".*") {
			return nil
		}
	}
	return outcome.New(outcome.Denied, outcome.Forbidden, "the token does not grant %s%s.%s", ScopePrefix, resource, action)
}

// receiver is the municipality an upload is tagged with.
func (c *Connector) receiver(body []byte) (fixtures.Municipality, error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Meta         struct {
			Tag []struct {
				System string `json:"system"`
				Code   string `json:"code"`
			} `json:"tag"`
		} `json:"meta"`
	}
	if json.Unmarshal(body, &b) != nil || b.ResourceType != "Bundle" {
		return fixtures.Municipality{}, outcome.New(outcome.Incorrect, outcome.Structure, "PMD takes a Bundle (FHIR JSON)")
	}
	if b.Type != "collection" {
		return fixtures.Municipality{}, outcome.New(outcome.Unprocessable, outcome.Invalid, "PMD takes a collection Bundle, not type %q", clip(b.Type)).At("Bundle.type")
	}
	for i, t := range b.Meta.Tag {
		if t.System != SystemMunicipality {
			continue
		}
		m, ok := c.munis[t.Code]
		if !ok {
			return m, outcome.New(outcome.Unprocessable, outcome.Value, "no municipality has the number %q in this sandbox's world", clip(t.Code)).At(fmt.Sprintf("Bundle.meta.tag[%d].code", i))
		}
		return m, nil
	}
	return fixtures.Municipality{}, outcome.New(outcome.Unprocessable, outcome.Required,
		"the upload is not tagged with its municipality: Bundle.meta.tag needs system %s and the municipality number", SystemMunicipality).At("Bundle.meta.tag")
}

func (c *Connector) upload(w http.ResponseWriter, r *http.Request) {
	caller, body, ok := admit(w, r)
	if !ok {
		return
	}
	// The access rule reads the types Parse judges, from one reading.
	bundle := vkp.ReadBundle(body)
	types := bundle.EntryTypes()
	if !slices.Contains(types, "Observation") {
		types = append(types, "Observation") // what every upload needs
	}
	for _, typ := range types {
		if err := c.opts.Authorize(caller, typ, true); err != nil {
			connectors.WriteOutcome(w, err)
			return
		}
	}
	f, allow := c.faults.Next(r.Context(), caller)
	if c.faults.Inject(w, r, f) {
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.Structure, "the body is empty: send a collection Bundle"))
		return
	}
	m, err := c.receiver(body)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	s, err := bundle.Parse(append(slices.Clone(c.opts.Allow), allow...), vkp.Measurements)
	if err != nil {
		if errors.Is(err, vkp.ErrNotSynthetic) {
			c.log.Warn("pmd: refused an upload with identity numbers that are not synthetic", "sandbox", caller.Sandbox)
		}
		connectors.WriteOutcome(w, err)
		return
	}
	s.Municipality = m
	resp, err := vkp.Deliver(r.Context(), c.engine, caller.Sandbox, s, ID, f.Duplicate())
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	_, _ = w.Write(resp)
}

// searchParams are the parameters an Observation search takes besides
// patient.identifier.
var searchParams = []string{"date", "code", "category", "_count", "_sort", "_cursor", "_total"}

func (c *Connector) search(w http.ResponseWriter, r *http.Request) {
	caller, body, ok := admit(w, r)
	if !ok {
		return
	}
	if err := c.opts.Authorize(caller, "Observation", false); err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		connectors.WriteOutcome(w, outcome.New(outcome.UnsupportedMedia, outcome.NotSupported,
			"a _search takes its parameters as application/x-www-form-urlencoded, not %s", clip(ct)))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.Structure, "the body is not a form"))
		return
	}
	for k, vs := range r.URL.Query() {
		form[k] = append(form[k], vs...)
	}
	ids := form["patient.identifier"]
	if len(ids) != 1 || !strings.Contains(ids[0], "|") {
		connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.Required,
			"PMD searches one person's measurements: give patient.identifier=system|value once"))
		return
	}
	params := url.Values{"patient.identifier": ids}
	for k, vs := range form {
		switch {
		case k == "patient.identifier":
		case slices.Contains(searchParams, k):
			params[k] = vs
		default:
			connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.NotSupported,
				"PMD's Observation search does not take %q; it takes patient.identifier, %s", clip(k), strings.Join(searchParams, ", ")))
			return
		}
	}
	page, err := c.engine.Search(r.Context(), fhirstore.Sandbox(caller.Sandbox), "Observation", params)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	entries := make([]any, 0, len(page.Matches))
	matches := vkp.Reorder(c.faults.Order(r.Context(), caller.Sandbox, params.Get("_cursor"), len(page.Matches)), page.Matches)
	for _, m := range matches {
		entries = append(entries, map[string]any{"fullUrl": "Observation/" + m.ID, "resource": json.RawMessage(m.Body), "search": map[string]any{"mode": "match"}})
	}
	out := map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": entries}
	if page.Total >= 0 {
		out["total"] = page.Total
	}
	if page.Next != "" {
		out["link"] = []any{map[string]any{"relation": "next", "url": "Observation/_search?_cursor=" + url.QueryEscape(page.Next)}}
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	_, _ = w.Write(b)
}

// admit reads a request's caller and body, or answers why it cannot.
func admit(w http.ResponseWriter, r *http.Request) (connectors.Caller, []byte, bool) {
	caller, ok := connectors.CallerFrom(r.Context())
	if !ok {
		connectors.WriteOutcome(w, outcome.New(outcome.Fault, outcome.Exception, "no sandbox for the request"))
		return caller, nil, false
	}
	body, err := connectors.ReadBody(w, r, vkp.MaxMessageBytes)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		connectors.WriteOutcome(w, outcome.New(outcome.TooLarge, outcome.TooLong, "the body is larger than %d bytes", vkp.MaxMessageBytes))
		return caller, nil, false
	case err != nil:
		connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.Structure, "the body could not be read"))
		return caller, nil, false
	}
	return caller, body, true
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
