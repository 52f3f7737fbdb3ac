package smart

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Observer receives what the server learnt of each request to its
// authorize, token, introspection and revocation endpoints, for the
// gateway to keep as evidence. Observe is called on the request's
// goroutine before the answer is written, so it must be quick and must not
// keep ctx.
type Observer interface {
	Observe(ctx context.Context, ev Event)
}

// Event is one observed request: whose it was and its Facts.
type Event struct {
	// Sandbox is the Client.Sandbox of the client the request named.
	Sandbox string
	// ClientID is the client the request named, authenticated or not, and
	// Known whether it is a registered client.
	ClientID string
	Known    bool
	// Granted is the scope a token request was granted.
	Granted string
	Facts   Facts
}

// Facts are the conformance-relevant facts of a request: never a
// credential, code, token or state value. Field for field they are the
// request log's requestlog.OAuth, which documents each; keep the two the
// same (the gateway converts one into the other).
type Facts struct {
	Endpoint          string
	ResponseType      string
	PKCEMethod        string
	Challenge         bool
	StateLen          int
	StateBits         int
	RedirectURI       string
	RedirectExact     bool
	Scope             string
	Aud               string
	AudMatches        bool
	Launch            bool
	GrantType         string
	ClientAuth        string
	Verifier          bool
	AssertionAlg      string
	AssertionLifetime int64
	AssertionIssSub   bool
	AssertionJTI      bool
	JTIReplayed       bool
	Error             string
}

// Observed endpoints (Facts.Endpoint).
const (
	EndpointAuthorize  = "authorize"
	EndpointToken      = "token"
	EndpointIntrospect = "introspect"
	EndpointRevoke     = "revoke"
)

// maxFactBytes bounds the strings a Facts keeps from a request.
const maxFactBytes = 256

// observe hands ev, with the error answered, to the observer.
func (s *Server) observe(ctx context.Context, ev *Event, err error) {
	if ev == nil {
		return
	}
	if err != nil {
		e := asError(err)
		ev.Facts.Error = e.Code
		ev.Facts.JTIReplayed = ev.Facts.JTIReplayed || e.jtiReplayed
	}
	s.observer.Observe(ctx, *ev)
}

// newEvent starts the event of a request to endpoint, or returns nil when
// nobody observes.
func (s *Server) newEvent(endpoint string) *Event {
	if s.observer == nil {
		return nil
	}
	return &Event{Facts: Facts{Endpoint: endpoint}}
}

// fromAuthorize records the facts of an authorization request's form.
func (ev *Event) fromAuthorize(form url.Values) {
	f := &ev.Facts
	state := form.Get("state")
	f.ResponseType = truncate(form.Get("response_type"), 32)
	f.PKCEMethod = truncate(form.Get("code_challenge_method"), 32)
	f.Challenge = form.Get("code_challenge") != ""
	f.StateLen, f.StateBits = len(state), entropyBits(state)
	f.RedirectURI = truncate(form.Get("redirect_uri"), maxFactBytes)
	f.Scope = truncate(form.Get("scope"), maxFactBytes)
	f.Aud = truncate(form.Get("aud"), maxFactBytes)
	f.Launch = form.Get("launch") != ""
	ev.ClientID = truncate(form.Get("client_id"), 128)
}

// fromTokenForm records the facts of a token, introspection or revocation
// request that do not depend on the client being known.
func (ev *Event) fromTokenForm(r *http.Request, form url.Values, now time.Time) {
	f := &ev.Facts
	f.GrantType = truncate(form.Get("grant_type"), 64)
	f.Verifier = form.Get("code_verifier") != ""
	f.Scope = truncate(form.Get("scope"), maxFactBytes)
	ev.ClientID = truncate(form.Get("client_id"), 128)
	switch {
	case hasBasicAuth(r):
		f.ClientAuth = authSecretBasic
		if user, _, _ := r.BasicAuth(); ev.ClientID == "" {
			if id, err := url.QueryUnescape(user); err == nil {
				ev.ClientID = truncate(id, 128)
			}
		}
	case form.Get("client_assertion") != "":
		f.ClientAuth = authPrivateKeyJWT
		iss := f.fromAssertion(form.Get("client_assertion"), now)
		if ev.ClientID == "" {
			ev.ClientID = truncate(iss, 128)
		}
	case form.Get("client_secret") != "":
		f.ClientAuth = authSecretPost
	case r.Header.Get("Authorization") != "":
		f.ClientAuth = "bearer"
	default:
		f.ClientAuth = authNone
	}
}

// fromAssertion records the facts of a client assertion, read without
// verifying it (the server verifies it separately), and returns its iss.
func (f *Facts) fromAssertion(assertion string, now time.Time) string {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return ""
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err == nil && json.Unmarshal(b, &hdr) == nil {
		f.AssertionAlg = truncate(hdr.Alg, 16)
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Jti string          `json:"jti"`
		Exp json.RawMessage `json:"exp"`
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(b, &claims) != nil {
		return ""
	}
	f.AssertionIssSub = claims.Iss != "" && claims.Iss == claims.Sub
	f.AssertionJTI = claims.Jti != ""
	var exp float64
	if len(claims.Exp) > 0 && json.Unmarshal(bytes.TrimSpace(claims.Exp), &exp) == nil && !math.IsInf(exp, 0) && !math.IsNaN(exp) {
		// Clamped, so that an absurd exp cannot overflow the lifetime.
		f.AssertionLifetime = int64(max(min(exp, 1e15), -1e15)) - now.Unix()
	}
	return claims.Iss
}

// fromClient records the client the request turned out to be from.
func (ev *Event) fromClient(c *Client) {
	if c != nil {
		ev.ClientID, ev.Sandbox, ev.Known = c.ID, c.Sandbox, true
	}
}

// lookupSandbox fills in the sandbox of the client the event names when
// the request failed before the client was known.
func (s *Server) lookupSandbox(ctx context.Context, ev *Event) {
	if ev == nil || ev.Known || ev.ClientID == "" {
		return
	}
	if c, err := s.clients.Client(ctx, ev.ClientID); err == nil {
		ev.fromClient(c)
	} else if !errors.Is(err, ErrClientNotFound) {
		s.log.WarnContext(ctx, "client lookup for evidence failed", "err", err)
	}
}

// entropyBits estimates the entropy of a random-looking value from its
// length and the alphabet it draws on: hexadecimal, digits, letters,
// base64url and so on. It is an upper bound: it catches a value that is
// short or repeats a few characters, not one that is predictable in a
// cleverer way.
func entropyBits(v string) int {
	if v == "" {
		return 0
	}
	var digits, hexLower, lower, upper, other bool
	seen := map[rune]bool{}
	for _, c := range v {
		seen[c] = true
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c >= 'a' && c <= 'f':
			hexLower = true
		case c >= 'g' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		default:
			other = true
		}
	}
	alphabet := 0
	switch {
	case lower || (hexLower && upper):
		alphabet = 26
	case hexLower:
		alphabet = 6
	}
	if digits {
		alphabet += 10
	}
	if upper {
		alphabet += 26
	}
	if other {
		// Separators and base64's -_ add little; count them as a few.
		alphabet += 4
	}
	// A value of one or two characters repeated has no more entropy than
	// its few distinct characters allow.
	alphabet = min(alphabet, len(seen)*len(seen))
	if alphabet < 2 {
		return 0
	}
	return int(float64(len(v)) * math.Log2(float64(alphabet)))
}
