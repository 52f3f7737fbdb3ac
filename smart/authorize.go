package smart

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// authSession is one authorization request on its way through login,
// patient picker and consent. It is kept in the StateStore under its id,
// which the pages carry in a hidden field.
type authSession struct {
	ID          string
	ClientID    string
	Sandbox     string
	RedirectURI string
	State       string
	Nonce       string
	Challenge   string
	Scope       string
	Launch      *LaunchContext // set for an EHR launch
	FHIRUser    string
	Patient     string
	Encounter   string
	LoggedIn    bool
	Consented   bool
	// EncounterAsked records that the encounter picker was shown (the user
	// may continue without one).
	EncounterAsked bool
	AuthTime       int64
	// DPoPJKT is the authorization request's dpop_jkt (RFC 9449 §10): the
	// thumbprint of the key whose proof must come with the code.
	DPoPJKT string `json:",omitempty"`
}

// codeChallengePattern is RFC 7636 §4.2: S256 yields 43 base64url chars.
var codeChallengePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// fhirUserPattern is a relative reference to a user resource.
var fhirUserPattern = regexp.MustCompile(`^(Practitioner|PractitionerRole|Patient|RelatedPerson|Person)/[A-Za-z0-9.-]{1,64}$`)

// redirectError is an authorize error sent back to the client's
// redirect_uri (RFC 6749 §4.1.2.1).
type redirectError struct {
	err         *Error
	redirectURI string
	state       string
}

func (e *redirectError) Error() string { return e.err.Error() }

// Unwrap gives the OAuth error, so that errors.As finds its code.
func (e *redirectError) Unwrap() error { return e.err }

// authorize handles GET and POST (authorize-post) authorization requests.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, ErrInvalidRequest.describe("malformed request"))
		return
	}
	ev := s.newEvent(EndpointAuthorize)
	if ev != nil {
		ev.fromAuthorize(r.Form)
	}
	sess, err := s.newSession(r.Context(), r.Form, ev)
	s.lookupSandbox(r.Context(), ev)
	s.observe(r.Context(), ev, err)
	if err != nil {
		s.answerAuthorizeError(w, r, err)
		return
	}
	s.advance(w, r, sess)
}

// answerAuthorizeError shows an error page for errors about the client or
// redirect_uri, and redirects every other error to the client.
func (s *Server) answerAuthorizeError(w http.ResponseWriter, r *http.Request, err error) {
	var re *redirectError
	if errors.As(err, &re) {
		s.redirectToClient(w, r, re.redirectURI, url.Values{
			"error": {re.err.Code}, "error_description": {re.err.Description}, "state": {re.state},
		})
		return
	}
	s.renderError(w, asError(err))
}

// newSession validates an authorization request and returns its session.
// When ev is not nil, it records in ev what it learns on the way: the
// client's sandbox, whether redirect_uri and aud match.
func (s *Server) newSession(ctx context.Context, form url.Values, ev *Event) (*authSession, error) {
	for _, p := range []string{"client_id", "redirect_uri"} {
		if len(form[p]) > 1 {
			return nil, ErrInvalidRequest.describe("%s given more than once", p)
		}
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		return nil, ErrInvalidRequest.describe("client_id is required")
	}
	client, err := s.clients.Client(ctx, clientID)
	if errors.Is(err, ErrClientNotFound) {
		return nil, ErrInvalidClient.describe("unknown client_id")
	}
	if err != nil {
		s.log.ErrorContext(ctx, "client lookup failed", "err", err)
		return nil, ErrServerError.describe("client lookup failed")
	}
	redirectURI := form.Get("redirect_uri")
	if ev != nil {
		ev.fromClient(client)
		ev.Facts.RedirectExact = client.hasRedirectURI(redirectURI)
	}
	if redirectURI == "" {
		return nil, ErrInvalidRequest.describe("redirect_uri is required")
	}
	if !client.hasRedirectURI(redirectURI) {
		return nil, ErrInvalidRequest.describe("redirect_uri is not registered for this client (it must match exactly)")
	}
	state := form.Get("state")
	fail := func(e *Error) error { return &redirectError{err: e, redirectURI: redirectURI, state: state} }
	for p, vs := range form {
		if len(vs) > 1 {
			return nil, fail(ErrInvalidRequest.describe("%s given more than once", truncate(p, 40)))
		}
	}
	if rt := form.Get("response_type"); rt != "code" {
		return nil, fail(ErrUnsupportedResponseType.describe("response_type must be code"))
	}
	if state == "" {
		return nil, fail(ErrInvalidRequest.describe("state is required"))
	}
	pol, err := s.policy(ctx, client.Sandbox)
	if err != nil {
		s.log.WarnContext(ctx, "authorize for a sandbox without policy", "client_id", client.ID, "err", err)
		return nil, fail(ErrInvalidRequest.describe("the client's sandbox is not available"))
	}
	aud := strings.TrimRight(form.Get("aud"), "/")
	if ev != nil {
		ev.Facts.AudMatches = aud == pol.FHIRBase
	}
	if aud != pol.FHIRBase {
		return nil, fail(ErrInvalidRequest.describe("aud must be the FHIR base URL %s", pol.FHIRBase))
	}
	challenge, method := form.Get("code_challenge"), form.Get("code_challenge_method")
	switch {
	case challenge == "":
		return nil, fail(ErrInvalidRequest.describe("code_challenge is required (PKCE with S256)"))
	case method != "S256":
		return nil, fail(ErrInvalidRequest.describe("code_challenge_method must be S256"))
	case !codeChallengePattern.MatchString(challenge):
		return nil, fail(ErrInvalidRequest.describe("code_challenge must be the base64url SHA-256 of the verifier"))
	}
	jkt := form.Get("dpop_jkt")
	if _, given := form["dpop_jkt"]; given && !codeChallengePattern.MatchString(jkt) {
		// The RFC 7638 SHA-256 thumbprint, base64url: 43 characters too.
		return nil, fail(ErrInvalidRequest.describe("dpop_jkt must be the base64url SHA-256 JWK thumbprint (RFC 7638) of the client's DPoP key"))
	}
	scopes, err := s.checkRequestedScopes(client, form.Get("scope"))
	if err != nil {
		return nil, fail(asError(err))
	}
	for _, sc := range scopes {
		if sc.Level == LevelSystem {
			return nil, fail(ErrInvalidScope.describe("system scopes are for backend services (client_credentials), not authorize"))
		}
	}
	sess := &authSession{
		ClientID: client.ID, Sandbox: client.Sandbox, RedirectURI: redirectURI, State: state,
		Nonce: form.Get("nonce"), Challenge: challenge, Scope: scopes.String(), DPoPJKT: jkt,
		LoggedIn: pol.SkipLogin, Consented: pol.SkipConsent, AuthTime: s.now().Unix(),
	}
	launchID := form.Get("launch")
	switch {
	case launchID != "" && !scopes.Has("launch"):
		return nil, fail(ErrInvalidScope.describe("an EHR launch must request the launch scope"))
	case launchID == "" && scopes.Has("launch"):
		return nil, fail(ErrInvalidRequest.describe("the launch scope needs the launch parameter of an EHR launch"))
	case launchID != "":
		lc, err := s.loadLaunch(ctx, launchID)
		if isNotFound(err) || (err == nil && lc.Sandbox != "" && lc.Sandbox != client.Sandbox) {
			return nil, fail(ErrInvalidRequest.describe("unknown or expired launch"))
		}
		if err != nil {
			return nil, fail(ErrServerError.describe("loading launch failed"))
		}
		sess.Launch, sess.Patient, sess.Encounter, sess.FHIRUser = lc, lc.Patient, lc.Encounter, lc.User
		sess.LoggedIn = sess.LoggedIn || lc.User != ""
	}
	if sess.ID, err = randomToken(); err != nil {
		return nil, fail(ErrServerError.describe("internal error"))
	}
	return sess, nil
}

// checkRequestedScopes parses a requested scope string and checks that the
// client may ask for it.
func (s *Server) checkRequestedScopes(client *Client, raw string) (Scopes, error) {
	requested, err := ParseScopes(raw)
	if err != nil {
		return nil, err
	}
	if len(requested) == 0 {
		return nil, ErrInvalidScope.describe("scope is required")
	}
	registered, _ := SplitScopes(client.Scopes)
	allowed, err := ParseScopes(registered)
	if err != nil {
		return nil, ErrServerError.describe("the client's registered scopes do not parse")
	}
	if sc, bad := allowed.Uncovered(requested); bad {
		return nil, ErrInvalidScope.describe("scope %q is not registered for this client", sc.Name)
	}
	return requested, nil
}

// advance sends the browser to the next step the session still needs:
// login, patient picker, consent, or back to the client with a code.
func (s *Server) advance(w http.ResponseWriter, r *http.Request, sess *authSession) {
	next := ""
	switch {
	case !sess.LoggedIn:
		next = pathLogin
	case sess.needsPatient():
		next = pathSelectPatient
	case s.needsEncounter(sess):
		next = pathSelectEncounter
	case !sess.Consented:
		next = pathConsent
	}
	if next == "" {
		s.finish(w, r, sess)
		return
	}
	if err := storeJSON(r.Context(), s.state, "session:"+sess.ID, sess, sessionTTL); err != nil {
		s.log.ErrorContext(r.Context(), "storing session failed", "err", err)
		s.redirectError(w, r, sess, ErrServerError.describe("internal error"))
		return
	}
	http.Redirect(w, r, s.url(next)+"?session="+url.QueryEscape(sess.ID), http.StatusSeeOther)
}

func (sess *authSession) needsPatient() bool {
	if sess.Patient != "" {
		return false
	}
	scopes, _ := ParseScopes(sess.Scope)
	return scopes.Has("launch/patient")
}

// needsEncounter reports whether a standalone launch asked for
// launch/encounter and the sandbox can list encounters to pick from.
func (s *Server) needsEncounter(sess *authSession) bool {
	if _, ok := s.patients.(EncounterLister); !ok || sess.Encounter != "" || sess.EncounterAsked || sess.Patient == "" {
		return false
	}
	scopes, _ := ParseScopes(sess.Scope)
	return scopes.Has("launch/encounter")
}

// finish issues the authorization code and redirects back to the client.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, sess *authSession) {
	ctx := r.Context()
	code, err := s.issueCode(ctx, sess)
	if err != nil {
		s.log.ErrorContext(ctx, "issuing code failed", "err", err)
		s.redirectError(w, r, sess, ErrServerError.describe("internal error"))
		return
	}
	_ = s.state.Delete(ctx, "session:"+sess.ID)
	s.redirectToClient(w, r, sess.RedirectURI, url.Values{"code": {code}, "state": {sess.State}})
}

// redirectError sends err to the session's client.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, sess *authSession, err *Error) {
	if sess.ID != "" {
		_ = s.state.Delete(r.Context(), "session:"+sess.ID)
	}
	s.redirectToClient(w, r, sess.RedirectURI, url.Values{
		"error": {err.Code}, "error_description": {err.Description}, "state": {sess.State},
	})
}

// redirectToClient redirects to a validated redirect_uri with params added
// to its query (empty values are left out).
func (s *Server) redirectToClient(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		s.renderError(w, ErrInvalidRequest.describe("redirect_uri does not parse"))
		return
	}
	q := u.Query()
	for k, vs := range params {
		if len(vs) > 0 && vs[0] != "" {
			q.Set(k, vs[0])
		}
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// loadSession reads the session named by the request's session parameter.
func (s *Server) loadSession(r *http.Request) (*authSession, error) {
	id := r.FormValue("session")
	var sess authSession
	if err := loadJSON(r.Context(), s.state, "session:"+id, &sess); err != nil || id == "" {
		return nil, ErrInvalidRequest.describe("unknown or expired authorization session; start again from the app")
	}
	return &sess, nil
}
