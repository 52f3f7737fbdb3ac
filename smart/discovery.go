package smart

import (
	"net/http"
)

// capabilities are the SMART App Launch 2.x capabilities the server offers.
var capabilities = []string{
	"launch-ehr", "launch-standalone",
	"client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
	"context-passthrough-banner", "context-passthrough-style",
	"context-ehr-patient", "context-ehr-encounter",
	"context-standalone-patient", "context-standalone-encounter",
	"permission-offline", "permission-online", "permission-patient", "permission-user",
	"permission-v1", "permission-v2",
	"sso-openid-connect", "authorize-post",
}

// scopesSupported are the scopes advertised in discovery; any SMART
// resource scope is accepted, these are examples of each form.
var scopesSupported = []string{
	"openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter",
	"offline_access", "online_access",
	"patient/*.rs", "patient/*.cruds", "user/*.rs", "user/*.cruds", "system/*.rs", "system/*.cruds",
	"patient/*.read", "patient/*.write", "user/*.read", "user/*.write", "system/*.read", "system/*.write",
}

// smartConfiguration is the document at {FHIR base}/.well-known/smart-configuration.
type smartConfiguration struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	RegistrationEndpoint              string   `json:"registration_endpoint,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	DPoPSigningAlgs                   []string `json:"dpop_signing_alg_values_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Capabilities                      []string `json:"capabilities,omitempty"`
	// OpenID Connect Discovery fields (also in openid-configuration).
	SubjectTypesSupported []string `json:"subject_types_supported,omitempty"`
	IDTokenSigningAlgs    []string `json:"id_token_signing_alg_values_supported,omitempty"`
	ClaimsSupported       []string `json:"claims_supported,omitempty"`
}

func (s *Server) discovery() smartConfiguration {
	return smartConfiguration{
		Issuer:                            s.cfg.Issuer,
		JWKSURI:                           s.url(pathJWKS),
		AuthorizationEndpoint:             s.url(pathAuthorize),
		TokenEndpoint:                     s.url(pathToken),
		IntrospectionEndpoint:             s.url(pathIntrospect),
		RevocationEndpoint:                s.url(pathRevoke),
		GrantTypesSupported:               []string{"authorization_code", "refresh_token", "client_credentials"},
		ResponseTypesSupported:            []string{"code"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		TokenEndpointAuthMethodsSupported: []string{"private_key_jwt", "client_secret_basic", "client_secret_post", "none"},
		TokenEndpointAuthSigningAlgs:      []string{"RS384", "ES384"},
		ScopesSupported:                   scopesSupported,
		DPoPSigningAlgs:                   DPoPAlgs,
	}
}

// smartConfiguration serves the SMART App Launch discovery document.
// The gateway puts the sandbox of the FHIR base the document is asked
// under in the request's context (WithSandbox); its policy may add a
// registration endpoint.
func (s *Server) smartConfiguration(w http.ResponseWriter, r *http.Request) {
	d := s.discovery()
	d.Capabilities = capabilities
	if pol, err := s.policy(r.Context(), SandboxFromContext(r.Context())); err == nil {
		d.RegistrationEndpoint = pol.RegistrationEndpoint
	}
	writeDiscovery(w, d)
}

// openIDConfiguration serves OpenID Connect Discovery 1.0 at the issuer.
func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	d := s.discovery()
	d.SubjectTypesSupported = []string{"public"}
	d.IDTokenSigningAlgs = []string{string(idTokenAlg)}
	d.ClaimsSupported = []string{"iss", "sub", "aud", "exp", "iat", "nonce", "auth_time", "fhirUser", "name"}
	writeDiscovery(w, d)
}

// jwks serves the public signing keys.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeBody(w, s.keys.JWKS())
}

func writeDiscovery(w http.ResponseWriter, d smartConfiguration) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeBody(w, d)
}
