package requestlog

import "context"

// OAuth is what the authorization server learnt of one request to its
// authorize, token, introspection or revocation endpoint: facts for the
// conformance checks, never a credential, code, token or state value.
//
// Its fields are those of smart.Facts, one for one, so that the gateway
// converts one into the other (requestlog.OAuth(f)) and a field added to
// one and not the other breaks the build rather than the evidence.
type OAuth struct {
	// Endpoint is "authorize", "token", "introspect" or "revoke".
	Endpoint string

	// ResponseType is the authorize request's response_type.
	ResponseType string
	// PKCEMethod is the code_challenge_method sent ("" when none was);
	// Challenge says whether a code_challenge was sent.
	PKCEMethod string
	Challenge  bool
	// StateLen is the length of the state sent (0: none), and StateBits
	// an estimate of its entropy from its length and alphabet.
	StateLen  int
	StateBits int
	// RedirectURI is the redirect_uri sent, and RedirectExact whether it
	// is, character for character, one the client registered.
	RedirectURI   string
	RedirectExact bool
	// Scope is the scope requested.
	Scope string
	// Aud is the aud sent, and AudMatches whether it is the sandbox's
	// FHIR base URL.
	Aud        string
	AudMatches bool
	// Launch says whether an EHR launch id was sent.
	Launch bool

	// GrantType is a token request's grant_type.
	GrantType string
	// ClientAuth is how the client authenticated: none,
	// client_secret_basic, client_secret_post or private_key_jwt; ""
	// when it did not get that far.
	ClientAuth string
	// Verifier says whether a PKCE code_verifier was sent.
	Verifier bool

	// AssertionAlg is the alg of a client assertion's header ("" when
	// there was no assertion or its header did not parse).
	AssertionAlg string
	// AssertionLifetime is its exp less the time it arrived, in seconds
	// (0 when it had no exp).
	AssertionLifetime int64
	// AssertionIssSub says whether its iss and sub are both the client id.
	AssertionIssSub bool
	// AssertionJTI says whether it carried a jti, and JTIReplayed whether
	// that jti had been used before.
	AssertionJTI bool
	JTIReplayed  bool

	// Error is the OAuth error code answered ("" on success).
	Error string
}

type noteCtxKey struct{}

// WithNote returns ctx carrying n, for a handler that learns what the log
// should keep (the authorization server's facts) but sees only the
// request's context, not the gateway's middleware.
func WithNote(ctx context.Context, n *Note) context.Context {
	return context.WithValue(ctx, noteCtxKey{}, n)
}

// NoteFrom returns the Note WithNote put in ctx, or nil.
func NoteFrom(ctx context.Context) *Note {
	n, _ := ctx.Value(noteCtxKey{}).(*Note)
	return n
}
