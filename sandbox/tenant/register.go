package tenant

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"hpsandbox/smart"
)

// registrationRequest is client metadata of RFC 7591 §2. Fields the
// sandbox does not use (logo_uri, contacts, …) are ignored, as §2 allows.
type registrationRequest struct {
	RedirectURIs            []string        `json:"redirect_uris"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	ClientName              string          `json:"client_name"`
	Scope                   string          `json:"scope"`
	JWKSURI                 string          `json:"jwks_uri"`
	JWKS                    json.RawMessage `json:"jwks"`
	// LaunchURI is not in RFC 7591: it is where an EHR launch opens the
	// app (SMART's launch URL), registered the same way.
	LaunchURI string `json:"launch_uri"`
	// DPoPBoundAccessTokens is RFC 9449 §5.2's.
	DPoPBoundAccessTokens bool `json:"dpop_bound_access_tokens"`
	// HelseID and VKPID are the sandbox's own: NewApp's.
	HelseID bool   `json:"helseid"`
	VKPID   string `json:"vkp_id"`
}

// registrationResponse is the client information response of RFC 7591 §3.2.1.
type registrationResponse struct {
	ClientID                string          `json:"client_id"`
	ClientSecret            string          `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64           `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64          `json:"client_secret_expires_at,omitempty"`
	RedirectURIs            []string        `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	ClientName              string          `json:"client_name"`
	Scope                   string          `json:"scope"`
	JWKSURI                 string          `json:"jwks_uri,omitempty"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	LaunchURI               string          `json:"launch_uri,omitempty"`
	DPoPBoundAccessTokens   bool            `json:"dpop_bound_access_tokens,omitempty"`
	HelseID                 bool            `json:"helseid,omitempty"`
	VKPID                   string          `json:"vkp_id,omitempty"`
}

// registrationError is the error response of RFC 7591 §3.2.2.
type registrationError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
	// bearer is set for a refused initial access token, answered as RFC
	// 6750 §3 says: 401 with a WWW-Authenticate challenge.
	bearer bool
}

func (e *registrationError) Error() string { return e.Code + ": " + e.Description }

func regError(status int, code, format string, args ...any) *registrationError {
	return &registrationError{Code: code, Description: fmt.Sprintf(format, args...), status: status}
}

// maxRegistrationBody bounds a registration request.
const maxRegistrationBody = 64 << 10

// RegistrationHandler serves RFC 7591 dynamic client registration for the
// sandbox sandboxOf names: POST with the client's metadata as JSON, 201
// with its client_id (and secret) or 400 with an RFC 7591 error. A sandbox
// whose settings close registration answers 403.
//
// An app that presents an initial access token of the sandbox (RFC 7591
// §3, Authorization: Bearer) may be anything the portal could register;
// a token that is not one answers 401 invalid_token (RFC 6750 §3.1). An
// app without one may only be a user-facing app with launch and identity
// scopes and the read scopes of Settings.RegistrationScopes; anything more
// answers 400 invalid_client_metadata saying a token is needed.
func (s *Service) RegistrationHandler(sandboxOf func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := s.register(r, sandboxOf(r))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			var re *registrationError
			if !errors.As(err, &re) {
				s.log.Error("dynamic registration", "err", err)
				re = regError(http.StatusInternalServerError, "server_error", "the registration could not be stored")
			}
			if re.bearer {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="hp-sandbox", error=%q, error_description=%q`, re.Code, re.Description))
			}
			w.WriteHeader(re.status)
			_ = json.NewEncoder(w).Encode(re)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(resp)
	})
}

func (s *Service) register(r *http.Request, sandbox string) (*registrationResponse, error) {
	if r.Method != http.MethodPost {
		return nil, regError(http.StatusMethodNotAllowed, "invalid_request", "register a client with POST")
	}
	sb, err := s.reg.Sandbox(r.Context(), sandbox)
	if errors.Is(err, ErrNotFound) {
		return nil, regError(http.StatusNotFound, "invalid_request", "no sandbox %q", sandbox)
	}
	if err != nil {
		return nil, err
	}
	if !sb.Settings.DynamicRegistration {
		return nil, regError(http.StatusForbidden, "access_denied", "sandbox %s does not allow dynamic registration; register the app in the portal", sandbox)
	}
	token, hasToken := bearerToken(r)
	var iat *RegistrationToken
	if hasToken {
		if iat, err = s.checkRegistrationToken(r.Context(), sandbox, token); err != nil {
			return nil, badToken(err)
		}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, regError(http.StatusBadRequest, "invalid_client_metadata", "send the client metadata as application/json (RFC 7591 §3.1)")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRegistrationBody+1))
	if err != nil {
		return nil, regError(http.StatusBadRequest, "invalid_client_metadata", "reading the request: %v", err)
	}
	if len(body) > maxRegistrationBody {
		return nil, regError(http.StatusRequestEntityTooLarge, "invalid_client_metadata", "client metadata over %d bytes", maxRegistrationBody)
	}
	var req registrationRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, regError(http.StatusBadRequest, "invalid_client_metadata", "client metadata is not a JSON object of RFC 7591 fields: %v", err)
	}
	spec, resp, err := req.resolve()
	if err != nil {
		return nil, err
	}
	if !hasToken {
		if err := sb.Settings.admitAnonymous(sandbox, &spec, resp.GrantTypes); err != nil {
			return nil, err
		}
	}
	app, secret, err := s.newApp(sandbox, spec, true)
	var ie *InvalidError
	if errors.As(err, &ie) {
		code := "invalid_client_metadata"
		if strings.HasPrefix(ie.Field, "redirect_uris") {
			code = "invalid_redirect_uri"
		}
		return nil, regError(http.StatusBadRequest, code, "%s", registrationField(ie))
	}
	if err != nil {
		return nil, err
	}
	// The token's use is counted only for a registration that is
	// otherwise sound, so that a mistake in the metadata does not spend it.
	if hasToken {
		if err := s.reg.UseRegistrationToken(r.Context(), sandbox, registrationTokenHash(token), s.now()); err != nil {
			return nil, badToken(err)
		}
		app.RegistrationToken = iat.ID
	}
	if err := s.reg.CreateApp(r.Context(), app); err != nil {
		return nil, err
	}
	resp.ClientID, resp.ClientSecret, resp.ClientIDIssuedAt = app.ClientID, secret, app.Created.Unix()
	resp.Scope, resp.RedirectURIs = app.Scopes, app.RedirectURIs
	if secret != "" {
		never := int64(0)
		resp.ClientSecretExpiresAt = &never
	}
	s.log.Info("app registered dynamically", "sandbox", sandbox, "client_id", app.ClientID, "type", app.Type,
		"scopes", app.Scopes, "initial_access_token", hasToken)
	return resp, nil
}

// bearerToken returns the initial access token of the request's
// Authorization header, and whether the request has that header at all:
// one that is not a bearer token is a bad token, not no token.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(token), true
}

// badToken is the answer to an initial access token that is not one; err
// that is not ErrBadRegistrationToken is the registry's failure.
func badToken(err error) error {
	if !errors.Is(err, ErrBadRegistrationToken) {
		return err
	}
	e := regError(http.StatusUnauthorized, "invalid_token",
		"the initial access token is unknown, expired, revoked, used up or of another sandbox; ask the sandbox's owner for a new one")
	e.bearer = true
	return e
}

// anonymousNamedScopes are the launch and identity scopes an app
// registering without an initial access token may have.
var anonymousNamedScopes = func() smart.Scopes {
	all, err := smart.ParseScopes(DefaultAppScopes)
	if err != nil {
		panic(err)
	}
	var named smart.Scopes
	for _, sc := range all {
		if sc.Level == "" {
			named = append(named, sc)
		}
	}
	return named
}()

// admitAnonymous decides whether an app may register in the sandbox with
// these settings without an initial access token: only a user-facing app
// (no client_credentials) whose scopes are launch and identity scopes and
// the RegistrationScopes the owner allows. An app that asks for no scopes
// is given exactly those.
func (st Settings) admitAnonymous(sandbox string, spec *NewApp, grants []string) error {
	allowed, err := parseRegistrationScopes(st.RegistrationScopes)
	if err != nil || len(allowed) == 0 {
		return regError(http.StatusBadRequest, "invalid_client_metadata",
			"sandbox %s registers apps only with an initial access token (RFC 7591 §3), sent as Authorization: Bearer; its owner issues one in the portal or the admin API", sandbox)
	}
	if slices.Contains(grants, "client_credentials") {
		return regError(http.StatusBadRequest, "invalid_client_metadata",
			"grant_types client_credentials: a backend service registers only with an initial access token (RFC 7591 §3) from the sandbox's owner")
	}
	if _, external := smart.SplitScopes(spec.Scopes); len(external) > 0 || spec.HelseID {
		return regError(http.StatusBadRequest, "invalid_client_metadata",
			"the HelseID profile and its scopes need an initial access token (RFC 7591 §3) from the sandbox's owner")
	}
	may := append(slices.Clone(anonymousNamedScopes), allowed...)
	if strings.TrimSpace(spec.Scopes) == "" {
		spec.Scopes = may.String()
		return nil
	}
	requested, err := smart.ParseScopes(spec.Scopes)
	if err != nil {
		return nil // the app's validation names the bad scope
	}
	if sc, ok := may.Uncovered(requested); ok {
		return regError(http.StatusBadRequest, "invalid_client_metadata",
			"scope %q needs an initial access token (RFC 7591 §3) from the sandbox's owner; without one an app may have the launch and identity scopes and %s",
			sc.Name, allowed)
	}
	return nil
}

// registrationField names the RFC 7591 field for an InvalidError of the
// registry.
func registrationField(ie *InvalidError) string {
	names := map[string]string{"name": "client_name", "scopes": "scope", "jwks_url": "jwks_uri", "launch_url": "launch_uri",
		"type": "token_endpoint_auth_method"}
	field, _, _ := strings.Cut(ie.Field, "[")
	if n, ok := names[field]; ok {
		return n + ": " + ie.Message
	}
	return ie.Field + ": " + ie.Message
}

// resolve checks the metadata's consistency (RFC 7591 §2.1) and maps it to
// an app type.
func (req *registrationRequest) resolve() (NewApp, *registrationResponse, error) {
	method := req.TokenEndpointAuthMethod
	if method == "" {
		method = "client_secret_basic" // RFC 7591 §2
	}
	types := map[string]string{"none": smart.Public.String(), "client_secret_basic": smart.ConfidentialSymmetric.String(),
		"client_secret_post": smart.ConfidentialSymmetric.String(), "private_key_jwt": smart.ConfidentialAsymmetric.String()}
	typ, ok := types[method]
	if !ok {
		return NewApp{}, nil, regError(http.StatusBadRequest, "invalid_client_metadata",
			"token_endpoint_auth_method %q: want none, client_secret_basic, client_secret_post or private_key_jwt", method)
	}
	grants := req.GrantTypes
	if len(grants) == 0 {
		grants = []string{"authorization_code"}
	}
	for _, g := range grants {
		switch g {
		case "authorization_code", "refresh_token":
		case "client_credentials":
			if method != "private_key_jwt" {
				return NewApp{}, nil, regError(http.StatusBadRequest, "invalid_client_metadata",
					"grant_types client_credentials needs token_endpoint_auth_method private_key_jwt (SMART Backend Services)")
			}
		default:
			return NewApp{}, nil, regError(http.StatusBadRequest, "invalid_client_metadata",
				"grant_types %q: want authorization_code, refresh_token or client_credentials", g)
		}
	}
	code := slices.Contains(grants, "authorization_code")
	responses := req.ResponseTypes
	if len(responses) == 0 && code {
		responses = []string{"code"}
	}
	for _, rt := range responses {
		if rt != "code" || !code {
			return NewApp{}, nil, regError(http.StatusBadRequest, "invalid_client_metadata",
				"response_types %q: only code, together with grant_types authorization_code", rt)
		}
	}
	if code && len(req.RedirectURIs) == 0 {
		return NewApp{}, nil, regError(http.StatusBadRequest, "invalid_redirect_uri", "redirect_uris: the authorization_code grant needs at least one")
	}
	if responses == nil {
		responses = []string{}
	}
	spec := NewApp{Name: req.ClientName, Type: typ, RedirectURIs: req.RedirectURIs, LaunchURL: req.LaunchURI,
		Scopes: req.Scope, JWKS: req.JWKS, JWKSURL: req.JWKSURI,
		DPoPBoundAccessTokens: req.DPoPBoundAccessTokens, HelseID: req.HelseID, VKPID: req.VKPID}
	if spec.Name == "" {
		spec.Name = "Dynamically registered app"
	}
	if !code && spec.Scopes == "" {
		spec.Scopes = "system/*.rs"
	}
	return spec, &registrationResponse{TokenEndpointAuthMethod: method, GrantTypes: grants, ResponseTypes: responses,
		ClientName: spec.Name, JWKSURI: req.JWKSURI, JWKS: req.JWKS, LaunchURI: req.LaunchURI,
		DPoPBoundAccessTokens: req.DPoPBoundAccessTokens, HelseID: req.HelseID, VKPID: req.VKPID}, nil
}
