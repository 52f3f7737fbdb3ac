// Package smart is the sandbox's SMART App Launch 2.x authorization server:
// discovery (.well-known/smart-configuration, openid-configuration, JWKS),
// the authorize endpoint with EHR and standalone launch, a simulated login,
// patient picker and consent, the token endpoint (authorization_code with
// PKCE S256, refresh_token with rotation, client_credentials with
// private_key_jwt), introspection and revocation, OIDC id_tokens with
// fhirUser, and the SMART v1/v2 scope model the gateway enforces.
//
// Access tokens are JWTs signed ES256 (a P-256 key derived from the RSA key,
// so gateways sharing the RSA key share it), verifiable offline with the
// JWKS and backed by a server-side record for revocation; id_tokens are
// RS256. State lives behind StateStore: MemoryState here, Redis in
// smart/redisstate.
//
// DPoP (RFC 9449, dpop.go): the token endpoint binds a token to the key of
// the request's DPoP proof (cnf.jkt, token_type DPoP), and demands the
// server's rotating nonce (use_dpop_nonce, DPoP-Nonce) from clients
// registered with dpop_bound_access_tokens; AuthenticateAt checks the proof
// of every request with a bound token (htm, htu, iat, single-use jti, ath,
// key, nonce) and refuses a bound token sent as Bearer. An authorization
// request's dpop_jkt (§10) binds the code to that key: the code exchange
// without a proof of it is invalid_grant, and leaves the code unspent for
// its client. Clients of the
// HelseID profile (helseid.go) get assertions of at most 60 s, "nhn:…"
// scopes as registered, their Claims (such as vkp-id) in their tokens, and
// DPoP as mandatory.
//
// It exposes plain net/http handlers (see Server.Routes) and a small API for
// the gateway: Server.Authenticate turns a request's bearer token into a
// Grant, and Grant.Permit says whether that grant may perform an interaction
// on a resource type and under which constraints. An optional Observer
// (Deps.Observer) is told the facts of every authorize, token,
// introspection and revocation request, which the gateway keeps as
// conformance evidence; the facts never hold a credential.
//
// It is not a FHIR server, does not know how patients are stored (the
// gateway supplies a PatientLister), does not render the supplier portal and
// does not register clients itself (a ClientStore is supplied). It is not a
// general OAuth framework: it implements what a SMART app needs against an
// EHR, and answers with the errors such an EHR gives.
package smart
