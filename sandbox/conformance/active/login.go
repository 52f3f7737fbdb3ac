package active

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"hpsandbox/sandbox/conformance"
)

// loginRedirect is the redirect URI of the simulated launch: a loopback
// URI (RFC 8252) the suite never listens on, since it reads the code
// from the redirect itself.
const loginRedirect = "http://127.0.0.1:9/callback"

// maxLoginSteps bounds the pages of one simulated login.
const maxLoginSteps = 8

// simulatedLogin walks a standalone launch through an HP Sandbox's
// simulated login and consent pages as a browser would, signed in as
// Patient/patient, and exchanges the code (PKCE S256) for a token. It
// follows redirects only on the authorization server's origin.
func (s *Session) simulatedLogin(ctx context.Context, patient string) (token, tokenPatient string, err error) {
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	state := rand.Text()
	q := url.Values{"response_type": {"code"}, "client_id": {s.cfg.LoginClient}, "redirect_uri": {loginRedirect},
		"scope": {"launch/patient patient/*.rs"}, "state": {state}, "aud": {s.base},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	authz, err := url.Parse(s.smart.AuthorizationEndpoint)
	if err != nil || authz.Host == "" {
		return "", "", fmt.Errorf("the authorization_endpoint %q is not a URL", s.smart.AuthorizationEndpoint)
	}
	r, err := s.send(ctx, request{Method: "GET", URL: s.smart.AuthorizationEndpoint + "?" + q.Encode(), Accept: "text/html"})
	for step := 0; ; step++ {
		if err != nil {
			return "", "", err
		}
		if r.Status != 302 && r.Status != 303 {
			return "", "", fmt.Errorf("the authorization server answered %d, not a redirect", r.Status)
		}
		if step == maxLoginSteps {
			return "", "", fmt.Errorf("no code after %d pages", maxLoginSteps)
		}
		loc, perr := authz.Parse(r.Header.Get("Location"))
		if perr != nil {
			return "", "", fmt.Errorf("a redirect to %q", r.Header.Get("Location"))
		}
		if strings.HasPrefix(loc.String(), loginRedirect) {
			got := loc.Query()
			if e := got.Get("error"); e != "" {
				return "", "", fmt.Errorf("the authorization was refused: %s: %s", e, got.Get("error_description"))
			}
			if got.Get("state") != state || got.Get("code") == "" {
				return "", "", fmt.Errorf("the redirect back holds no code with the state sent")
			}
			return s.exchangeCode(ctx, got.Get("code"), verifier)
		}
		if loc.Scheme != authz.Scheme || loc.Host != authz.Host {
			return "", "", fmt.Errorf("the authorization server redirected to another origin (%s)", loc.Host)
		}
		var form url.Values
		switch page := loc.Path[strings.LastIndex(loc.Path, "/")+1:]; page {
		case "login":
			form = url.Values{"user": {"Patient/" + patient}}
		case "select-patient", "patient":
			form = url.Values{"patient": {patient}}
		case "consent":
			form = url.Values{"decision": {"allow"}}
		default:
			return "", "", fmt.Errorf("the authorization server shows a page the suite does not know (%s)", loc.Path)
		}
		r, err = s.send(ctx, request{Method: "POST", URL: loc.String(), ContentType: "application/x-www-form-urlencoded",
			Accept: "text/html", Body: form.Encode()})
	}
}

// exchangeCode redeems an authorization code at the token endpoint.
func (s *Session) exchangeCode(ctx context.Context, code, verifier string) (string, string, error) {
	r, err := s.postForm(ctx, s.smart.TokenEndpoint, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {loginRedirect}, "client_id": {s.cfg.LoginClient}, "code_verifier": {verifier}})
	if err != nil {
		return "", "", err
	}
	m := r.object()
	if r.Status != 200 || str(m, "access_token") == "" {
		return "", "", fmt.Errorf("the token endpoint answered %d (%s)", r.Status, str(m, "error"))
	}
	return str(m, "access_token"), str(m, "patient"), nil
}

func testPatientLaunch(ctx context.Context, s *Session) conformance.Result {
	switch {
	case s.cfg.PatientToken != "":
		return skip("a patient token was given (--patient-token)")
	case !s.cfg.SimulatedLogin:
		s.noPatient = "--patient-token and --patient, or --simulated-login"
		return skip("no --simulated-login")
	case s.smart.AuthorizationEndpoint == "" || s.smart.TokenEndpoint == "":
		s.noPatient = "the smart-configuration names no authorization and token endpoints"
		return fail("the smart-configuration names no authorization_endpoint or token_endpoint")
	}
	patient := s.cfg.Patient
	if patient == "" {
		ids := s.patientIDs(ctx)
		if len(ids) == 0 {
			s.noPatient = "no patient found to sign in as"
			return skip("no --patient, and the backend token found no patient to sign in as")
		}
		patient = ids[0]
	}
	tok, ctxPatient, err := s.simulatedLogin(ctx, patient)
	if err != nil {
		s.noPatient = "active.patient-launch failed"
		return fail("signed in as Patient/%s: %v", patient, err)
	}
	if ctxPatient != patient {
		s.noPatient = "active.patient-launch failed"
		return fail("the token's patient in context is %q, not the %q signed in", ctxPatient, patient)
	}
	s.patientToken, s.patient = tok, patient
	return pass("a patient/*.rs token for Patient/%s through the simulated login and consent", patient)
}
