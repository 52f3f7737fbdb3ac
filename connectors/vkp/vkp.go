package vkp

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fixtures"
)

// ID is the connector's id.
const ID = "vkp"

// MaxMessageBytes bounds one submission.
const MaxMessageBytes = 1 << 20

// Base is the path of the hub's R4 API below the connector; the receiving
// municipality's organisation number follows it.
const Base = "/epj/r4"

// Options configure the connector beyond what the gateway gives it.
type Options struct {
	// Allow are national identity numbers the test-data guard lets pass
	// although they do not look synthetic (nin.Synthetic), in every
	// sandbox; a sandbox's settings may add more.
	Allow []string
	// Authorize decides whether the caller may use resource at the
	// municipality (nil: Authorize, the HelseID-style rule of this
	// package). An integrator may swap in another rule.
	Authorize func(c connectors.Caller, m fixtures.Municipality, resource string, write bool) error
	// Sleep waits for a slow-response fault (nil: a timer that ends with
	// the request's context).
	Sleep func(r *http.Request, d time.Duration)
}

// Connector is the welfare-technology hub emulator. Make it with Open or
// OpenWith.
type Connector struct {
	engine connectors.Engine
	log    *slog.Logger
	opts   Options
	munis  map[string]fixtures.Municipality // by organisation number
	faults *Faults
}

var (
	_ connectors.RouteConnector = (*Connector)(nil)
	_ connectors.CheckConnector = (*Connector)(nil)
)

// Open is the connector's connectors.Opener, with default Options.
func Open(deps connectors.Deps) (connectors.Connector, error) { return OpenWith(Options{})(deps) }

// OpenWith returns an Opener of the connector with opts.
func OpenWith(opts Options) connectors.Opener {
	return func(deps connectors.Deps) (connectors.Connector, error) {
		if deps.Engine == nil {
			return nil, errors.New("vkp: no engine to write through")
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
			munis[m.OrgNumber] = m
		}
		return &Connector{engine: deps.Engine, log: log, opts: opts, munis: munis, faults: NewFaults(ID, opts.Sleep, deps)}, nil
	}
}

// ID implements connectors.Connector.
func (c *Connector) ID() string { return ID }

// Description implements connectors.Connector.
func (c *Connector) Description() string {
	return "Welfare-technology hub (VKP R4): alarms, supervision, dispenser events and measurements into the record; patients, episodes and care plans out"
}

// ProfileSender is the conformance profile of a welfare-technology sender.
const ProfileSender = "vkp-sender"

// Profiles implements connectors.ProfileConnector: one profile of every
// check, for the systems that send to the hub.
func (c *Connector) Profiles() []connectors.CheckProfile {
	return []connectors.CheckProfile{{ID: ProfileSender, Title: "welfare-technology sender (VKP R4)",
		Description: "A welfare-technology system that sends alarms, supervision, dispenser events and measurements to the hub: complete Bundles, the guide's codes and profiles, synthetic persons named by national id, zoned times and retry-safe identifiers.",
		Checks:      connectors.CheckIDs(c.Checks())}}
}

// Routes implements connectors.RouteConnector.
func (c *Connector) Routes() []connectors.Route {
	return append([]connectors.Route{
		{Method: http.MethodPost, Path: Base + "/{orgnr}/Bundle", Summary: "submit an alarm, supervision, dispenser or measurement Bundle to the municipality",
			Handler: http.HandlerFunc(c.postBundle)},
		{Method: http.MethodGet, Path: Base + "/{orgnr}/{resource}/{id}", Summary: "read a Patient, EpisodeOfCare or CarePlan",
			Handler: http.HandlerFunc(c.read)},
		{Method: http.MethodGet, Path: Base + "/{orgnr}/{resource}", Summary: "search Patients, EpisodeOfCares or CarePlans",
			Handler: http.HandlerFunc(c.search)},
		{Method: http.MethodPost, Path: Base + "/{orgnr}/{resource}/_search", Summary: "search Patients, EpisodeOfCares or CarePlans with a form body",
			Handler: http.HandlerFunc(c.search)},
	}, c.faults.Routes()...)
}

// municipality returns the municipality an organisation number names, or
// the error that answers a request for an unknown one.
func (c *Connector) municipality(orgnr string) (fixtures.Municipality, error) {
	m, ok := c.munis[orgnr]
	if !ok {
		return m, outcome.New(outcome.Missing, outcome.NotFound,
			"no municipality has organisation number %q at this hub; the municipalities are those of the sandbox's synthetic world (GET /fhir/Organization?type=govt)", clip(orgnr))
	}
	return m, nil
}

// Municipality returns the municipality with organisation number orgnr.
func (c *Connector) Municipality(orgnr string) (fixtures.Municipality, bool) {
	m, ok := c.munis[orgnr]
	return m, ok
}

// admit reads a request's caller and body, or answers why it cannot.
func admit(w http.ResponseWriter, r *http.Request) (connectors.Caller, []byte, bool) {
	caller, ok := connectors.CallerFrom(r.Context())
	if !ok {
		connectors.WriteOutcome(w, outcome.New(outcome.Fault, outcome.Exception, "no sandbox for the request"))
		return caller, nil, false
	}
	body, err := connectors.ReadBody(w, r, MaxMessageBytes)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		connectors.WriteOutcome(w, outcome.New(outcome.TooLarge, outcome.TooLong, "the body is larger than %d bytes", MaxMessageBytes))
		return caller, nil, false
	case err != nil:
		connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.Structure, "the body could not be read"))
		return caller, nil, false
	}
	return caller, body, true
}

// clip shortens text from a request for a diagnostic.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

func sleepFor(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
