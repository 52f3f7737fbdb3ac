package active

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"hpsandbox/sandbox/conformance"
)

// Test is one active test: a stable id, what it asserts, the section it
// cites, how much a failure weighs, what it needs from the tests before
// it, and the probe itself.
type Test struct {
	// ID is stable across releases, e.g. "active.error-404-operationoutcome".
	ID    string
	Title string
	// Cite is the URL of the specification section the test enforces.
	Cite     string
	Severity conformance.Severity
	// Needs are what the test cannot run without; a test whose need is
	// unmet is skipped with the reason.
	Needs []Need
	// Run probes the server through s and judges what it answered.
	Run func(ctx context.Context, s *Session) conformance.Result
}

// Need is something a test depends on that an earlier test or the
// configuration provides.
type Need int

// Needs of tests.
const (
	// NeedSMART is the server's parsed smart-configuration.
	NeedSMART Need = iota
	// NeedCapability is the server's parsed CapabilityStatement.
	NeedCapability
	// NeedAccess is a way to read the FHIR API: a backend token, or a
	// server that answers without one.
	NeedAccess
	// NeedBackend is a backend client's credentials and a token endpoint.
	NeedBackend
	// NeedPatientToken is a patient-level token with its patient, and
	// another patient to try to see.
	NeedPatientToken
)

// Config says what server to test and with which credentials.
type Config struct {
	// Base is the FHIR base URL of the server under test.
	Base string
	// ClientID and Key are a registered backend service's client id and
	// private key (RSA for RS384, P-384 for ES384); without them the
	// backend tests are skipped. KeyID is the kid to send; empty sends
	// the key's RFC 7638 thumbprint.
	ClientID string
	Key      crypto.Signer
	KeyID    string
	// Scope is what the backend token asks for; empty is "system/*.rs".
	Scope string
	// PatientToken is a patient-level access token for Patient; with it
	// the scope-enforcement tests run.
	PatientToken, Patient string
	// OtherPatient is a patient the patient token must not see; empty
	// finds one with the backend token.
	OtherPatient string
	// SimulatedLogin, without a PatientToken, obtains one as a browser
	// would from an HP Sandbox: a standalone launch of LoginClient
	// (default "sandbox-demo", a public client with loopback redirect
	// URIs) through the sandbox's simulated login and consent pages,
	// signed in as Patient (a patient found with the backend token when
	// empty).
	SimulatedLogin bool
	LoginClient    string
	// HTTP is the client used; nil is a client with a 30 s timeout. It
	// must not follow redirects on its own (the suite reads them).
	HTTP *http.Client
	// Now is the clock of the report and of the client assertions; nil is
	// time.Now.
	Now func() time.Time
}

// ErrConfig is wrapped by errors about a configuration that cannot run.
var ErrConfig = errors.New("active: bad configuration")

// Run runs the tests of profile against the server cfg names, in order,
// and returns the run (its Outcomes in the tests' order, Active set, no
// ID). A test that panics fails with the panic in its message.
func Run(ctx context.Context, cfg Config, profile string) (*conformance.Run, error) {
	p, tests, err := ProfileTests(profile)
	if err != nil {
		return nil, err
	}
	s, err := newSession(cfg)
	if err != nil {
		return nil, err
	}
	run := &conformance.Run{ClientID: cfg.ClientID, FHIRBase: s.base, Profile: p, Issued: s.now().UTC(), Active: true}
	for _, t := range tests {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		run.Outcomes = append(run.Outcomes, conformance.Outcome{Check: t.check(), Result: s.runTest(ctx, t)})
	}
	run.Exchanges = s.requests
	return run, nil
}

// check is the test as a conformance.Check, for the report.
func (t Test) check() conformance.Check {
	return conformance.Check{ID: t.ID, Title: t.Title, Cite: t.Cite, Severity: t.Severity,
		Evaluate: func(*conformance.Evidence) conformance.Result {
			return conformance.Result{Status: conformance.Skip, Message: "an active test judges no recorded evidence"}
		}}
}

// runTest runs t unless a need is unmet, with its evidence collected.
func (s *Session) runTest(ctx context.Context, t Test) (res conformance.Result) {
	for _, n := range t.Needs {
		if why := s.unmet(n); why != "" {
			return conformance.Result{Status: conformance.Skip, Message: why}
		}
	}
	s.evidence = nil
	defer func() {
		if p := recover(); p != nil {
			res = conformance.Result{Status: conformance.Fail, Message: fmt.Sprintf("the test itself failed: %v", p)}
		}
		res.Evidence = s.evidence
		if len(res.Evidence) > conformance.MaxEvidence {
			res.Evidence = res.Evidence[:conformance.MaxEvidence]
		}
	}()
	return t.Run(ctx, s)
}

// unmet says why need n is not met, or "".
func (s *Session) unmet(n Need) string {
	switch n {
	case NeedSMART:
		if s.smart == nil {
			return "needs the smart-configuration, which active.discovery-smart-configuration could not read"
		}
	case NeedCapability:
		if s.caps == nil {
			return "needs the CapabilityStatement, which active.discovery-capability-statement could not read"
		}
	case NeedAccess:
		if s.token == "" && !s.open {
			return "needs a backend access token (" + s.noToken + ") or a server that answers without one"
		}
	case NeedBackend:
		switch {
		case s.cfg.ClientID == "" || s.cfg.Key == nil:
			return "needs a backend client: --client-id and --key"
		case s.smart == nil || s.smart.TokenEndpoint == "":
			return "needs the token endpoint, which the smart-configuration does not name"
		case s.token == "":
			return "needs a backend token, which active.backend-token-flow did not get"
		}
	case NeedPatientToken:
		switch {
		case s.patientToken == "":
			return "needs a patient-level token: " + s.noPatient
		case s.otherPatient == "":
			return "needs another patient to look for: --other-patient, or a backend token to find one (" + s.noOther + ")"
		}
	}
	return ""
}

// clean checks and normalises a FHIR base URL.
func cleanBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: --target %q is not an absolute http(s) URL of a FHIR base (e.g. http://127.0.0.1:8080/fhir)", ErrConfig, raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
