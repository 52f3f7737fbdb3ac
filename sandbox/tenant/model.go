package tenant

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"hpsandbox/smart"
)

// Errors of the registry; check them with errors.Is and errors.As.
var (
	// ErrNotFound: no such sandbox, app or account — or one the caller may
	// not see, so that existence does not leak across suppliers.
	ErrNotFound = errors.New("tenant: not found")
	// ErrExists: the id or username is taken.
	ErrExists = errors.New("tenant: already exists")
	// ErrForbidden: the caller sees the object but its role may not change it.
	ErrForbidden = errors.New("tenant: not allowed")
	// ErrBadCredentials: unknown username or wrong password.
	ErrBadCredentials = errors.New("tenant: wrong username or password")
)

// InvalidError is a request that breaks a rule of the registry; Field
// names the offending field as the admin API spells it.
type InvalidError struct {
	Field, Message string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Role is what an account may do.
type Role string

// The roles of the portal and the admin API.
const (
	// RoleOperator runs the sandbox: every sandbox, app and account.
	RoleOperator Role = "operator"
	// RoleReviewer reads every sandbox, app and request log, and changes
	// none of them; it reviews suppliers' test requests (accepts them,
	// runs their checks, approves or rejects runs).
	RoleReviewer Role = "reviewer"
	// RoleSupplier works in its own supplier's sandboxes only.
	RoleSupplier Role = "supplier"
)

func (r Role) valid() bool { return r == RoleOperator || r == RoleReviewer || r == RoleSupplier }

// Account is a person (or a CI job) signing in to the portal or the admin API.
type Account struct {
	Username string `json:"username"`
	Name     string `json:"name,omitempty"`
	Role     Role   `json:"role"`
	// Supplier is the organisation a supplier account acts for; its
	// sandboxes are those with the same Supplier.
	Supplier string `json:"supplier,omitempty"`
	// OIDCIssuer and OIDCSubject link an identity of an external OpenID
	// Connect provider to the account.
	OIDCIssuer  string    `json:"oidc_issuer,omitempty"`
	OIDCSubject string    `json:"oidc_subject,omitempty"`
	Created     time.Time `json:"created"`
	// Email is the address a supplier signed up with (SignUp).
	Email string `json:"email,omitempty"`
	// Status is "" for an account in use, or StatusPending for one that
	// signed up and awaits an operator's approval: it cannot sign in.
	Status AccountStatus `json:"status,omitempty"`

	// PasswordHash is the bcrypt hash of the password, if the account has
	// one; it is never marshalled, so that no answer can carry it.
	PasswordHash []byte `json:"-"`
}

// Pending reports whether the account awaits an operator's approval.
func (a *Account) Pending() bool { return a.Status == StatusPending }

// CanSee reports whether the account may see sb at all.
func (a *Account) CanSee(sb *Sandbox) bool {
	switch a.Role {
	case RoleOperator, RoleReviewer:
		return true
	case RoleSupplier:
		return sb.Supplier != "" && sb.Supplier == a.Supplier
	}
	return false
}

// CanChange reports whether the account may change sb (reset, delete,
// settings, apps).
func (a *Account) CanChange(sb *Sandbox) bool {
	return a.Role == RoleOperator || (a.Role == RoleSupplier && a.CanSee(sb))
}

// Settings are a sandbox's own behaviour.
type Settings struct {
	// Secured requires an access token on every FHIR call but metadata.
	Secured bool `json:"secured"`
	// SkipLogin and SkipConsent leave out the simulated login and consent
	// pages of authorizations.
	SkipLogin   bool `json:"skip_login"`
	SkipConsent bool `json:"skip_consent"`
	// AccessTokenSeconds and RefreshTokenSeconds are token lifetimes; 0
	// means the server's default.
	AccessTokenSeconds  int `json:"access_token_seconds,omitempty"`
	RefreshTokenSeconds int `json:"refresh_token_seconds,omitempty"`
	// DynamicRegistration opens the sandbox's RFC 7591 registration
	// endpoint; otherwise apps are registered in the portal or the admin
	// API only. Open, it registers any app that presents an initial access
	// token of the sandbox (RFC 7591 §3), and an app without one only
	// within RegistrationScopes.
	DynamicRegistration bool `json:"dynamic_registration"`
	// RegistrationScopes are the read scopes (patient/ or user/ level,
	// permissions r and s only) an app registering itself without an
	// initial access token may have, besides the launch and identity
	// scopes; space-separated. Empty, every registration needs a token.
	// Backend services (client_credentials) and write or system/ scopes
	// always need one.
	RegistrationScopes string `json:"registration_scopes"`
	// ProfileEnforcement says which profiles writes must conform to;
	// nothing by default.
	ProfileEnforcement ProfileEnforcement `json:"profile_enforcement"`
	// Connectors are the connectors' own settings of the sandbox (a hub's
	// injected faults), by connector id, as each connector writes them;
	// changing the other settings leaves them as they are.
	Connectors map[string]json.RawMessage `json:"connectors,omitempty"`
}

// DefaultSettings are those of a new supplier sandbox: secured, and closed
// to dynamic registration, so that nothing reaches its data until its
// owner lets it.
func DefaultSettings() Settings {
	return Settings{Secured: true}
}

func (s Settings) validate() error {
	for field, v := range map[string]int{"access_token_seconds": s.AccessTokenSeconds, "refresh_token_seconds": s.RefreshTokenSeconds} {
		if v < 0 || v > 366*24*3600 {
			return invalid("settings."+field, "%d: want 0 (the default) to %d seconds", v, 366*24*3600)
		}
	}
	if s.AccessTokenSeconds != 0 && s.AccessTokenSeconds < 30 {
		return invalid("settings.access_token_seconds", "%d: a token that lives under 30 s is unusable; want 30 or more", s.AccessTokenSeconds)
	}
	if _, err := parseRegistrationScopes(s.RegistrationScopes); err != nil {
		return invalid("settings.registration_scopes", "%v", err)
	}
	return s.ProfileEnforcement.validate()
}

// parseRegistrationScopes parses Settings.RegistrationScopes: resource
// scopes that read (r, s) at patient or user level, nothing else.
func parseRegistrationScopes(raw string) (smart.Scopes, error) {
	scopes, err := smart.ParseScopes(raw)
	if err != nil {
		return nil, err
	}
	for _, sc := range scopes {
		switch {
		case sc.Level == "":
			return nil, fmt.Errorf("%q: list resource scopes only; the launch and identity scopes come with them", sc.Name)
		case sc.Level == smart.LevelSystem:
			return nil, fmt.Errorf("%q: system scopes are for backend services, which need an initial access token", sc.Name)
		case sc.Permits(smart.Create) || sc.Permits(smart.Update) || sc.Permits(smart.Delete):
			return nil, fmt.Errorf("%q: an app without an initial access token may only read (r, s, or v1 read)", sc.Name)
		}
	}
	return scopes, nil
}

// Sandbox is one isolated FHIR base with its own data, apps and settings.
type Sandbox struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Supplier string   `json:"supplier,omitempty"`
	Settings Settings `json:"settings"`
	// SeedPatients generated patients (besides the personas) and Seed make
	// the data the sandbox starts with and returns to on reset; -1 starts
	// it empty.
	SeedPatients int       `json:"seed_patients"`
	Seed         int64     `json:"seed"`
	Created      time.Time `json:"created"`
	// ResetAt is when the data was last seeded.
	ResetAt time.Time `json:"reset_at"`
}

var sandboxIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$`)

// MaxSeedPatients bounds a sandbox's generated patients, so that one
// sandbox cannot fill the disk or hold the writer for minutes.
const MaxSeedPatients = 2000

func (sb *Sandbox) validate() error {
	if !sandboxIDRE.MatchString(sb.ID) {
		return invalid("id", "%q: want 3–40 lowercase letters, digits and inner hyphens, as it becomes part of the FHIR base URL", sb.ID)
	}
	if strings.TrimSpace(sb.Name) == "" || len(sb.Name) > 200 {
		return invalid("name", "want a name of 1–200 characters")
	}
	if sb.SeedPatients < -1 || sb.SeedPatients > MaxSeedPatients {
		return invalid("seed_patients", "%d: want 0 to %d generated patients (besides the personas), or -1 for a sandbox without data", sb.SeedPatients, MaxSeedPatients)
	}
	return sb.Settings.validate()
}

// App is a registered SMART client of a sandbox. Its secret is shown once,
// when it is made, and stored only as a bcrypt hash.
type App struct {
	ClientID     string   `json:"client_id"`
	Sandbox      string   `json:"sandbox"`
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	RedirectURIs []string `json:"redirect_uris"`
	LaunchURL    string   `json:"launch_url,omitempty"`
	// Scopes are what the app may ask for, space-separated.
	Scopes  string          `json:"scopes"`
	JWKS    json.RawMessage `json:"jwks,omitempty"`
	JWKSURL string          `json:"jwks_url,omitempty"`
	// DPoPBoundAccessTokens is RFC 9449 §5.2's dpop_bound_access_tokens:
	// the app's tokens are DPoP-bound, its token requests need a proof.
	DPoPBoundAccessTokens bool `json:"dpop_bound_access_tokens,omitempty"`
	// HelseID registers a confidential-asymmetric app for the HelseID
	// profile (smart.Client.HelseID): it may then have "nhn:…" scopes,
	// and VKPID.
	HelseID bool `json:"helseid,omitempty"`
	// VKPID is the welfare-technology hub's id of a HelseID app,
	// Supplier_System_Municipality, carried in its tokens as "vkp-id".
	VKPID string `json:"vkp_id,omitempty"`
	// Dynamic says the app registered itself (RFC 7591).
	Dynamic bool `json:"dynamic"`
	// RegistrationToken is the id of the initial access token it registered
	// itself with, if any.
	RegistrationToken string    `json:"registration_token,omitempty"`
	Created           time.Time `json:"created"`

	// SecretHash is the bcrypt hash of a confidential-symmetric app's
	// secret; it is never marshalled, so that no answer can carry it.
	SecretHash []byte `json:"-"`
}

// The app types, as SMART App Launch names them.
var appTypes = map[string]smart.ClientType{
	smart.Public.String():                 smart.Public,
	smart.ConfidentialSymmetric.String():  smart.ConfidentialSymmetric,
	smart.ConfidentialAsymmetric.String(): smart.ConfidentialAsymmetric,
}

// DefaultAppScopes are granted to an app registered without scopes.
const DefaultAppScopes = "launch launch/patient launch/encounter openid fhirUser profile offline_access online_access patient/*.rs user/*.rs"

func (a *App) validate() error {
	typ, ok := appTypes[a.Type]
	if !ok {
		return invalid("type", "%q: want public, confidential-symmetric or confidential-asymmetric", a.Type)
	}
	if strings.TrimSpace(a.Name) == "" || len(a.Name) > 200 {
		return invalid("name", "want a name of 1–200 characters")
	}
	for i, u := range a.RedirectURIs {
		if err := checkAppURL(u); err != nil {
			return invalid(fmt.Sprintf("redirect_uris[%d]", i), "%v", err)
		}
	}
	if a.LaunchURL != "" {
		if err := checkAppURL(a.LaunchURL); err != nil {
			return invalid("launch_url", "%v", err)
		}
	}
	if typ != smart.ConfidentialAsymmetric && len(a.RedirectURIs) == 0 {
		return invalid("redirect_uris", "a %s app needs at least one redirect URI", a.Type)
	}
	smartScopes, external := smart.SplitScopes(a.Scopes)
	if _, err := smart.ParseScopes(smartScopes); err != nil {
		return invalid("scopes", "%v", err)
	}
	if err := a.validateHelseID(typ, external); err != nil {
		return err
	}
	switch {
	case typ != smart.ConfidentialAsymmetric && (len(a.JWKS) > 0 || a.JWKSURL != ""):
		return invalid("jwks", "only a confidential-asymmetric app has keys")
	case typ == smart.ConfidentialAsymmetric && (len(a.JWKS) > 0) == (a.JWKSURL != ""):
		return invalid("jwks", "a confidential-asymmetric app needs its public keys: either jwks (a JWK Set) or jwks_url, not both")
	case len(a.JWKS) > 0:
		if _, err := publicKeySet(a.JWKS); err != nil {
			return invalid("jwks", "%v", err)
		}
	case a.JWKSURL != "":
		u, err := url.Parse(a.JWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return invalid("jwks_url", "%q: want an absolute https URL of the app's JWK Set", a.JWKSURL)
		}
	}
	return nil
}

// checkAppURL accepts absolute http(s) URLs without a fragment, and
// private-use scheme URIs of native apps (RFC 8252 §7.1, com.example.app:/cb).
func checkAppURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	if u.Fragment != "" {
		return fmt.Errorf("%q has a fragment, which redirect URIs must not have (RFC 6749 §3.1.2)", raw)
	}
	if (u.Scheme == "http" || u.Scheme == "https") && u.Host == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if (u.Port() != "" || strings.HasSuffix(u.Host, ":")) && !smart.ValidPort(u.Port()) {
		return fmt.Errorf("%q: a port is a number from 1 to 65535", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" && !strings.Contains(u.Scheme, ".") {
		return fmt.Errorf("%q: want http(s), or a private-use scheme in reverse-domain form (com.example.app:/callback)", raw)
	}
	return nil
}

func publicKeySet(raw json.RawMessage) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) == 0 {
		return nil, errors.New(`want a JSON Web Key Set ({"keys":[…]}) with at least one public key`)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return nil, fmt.Errorf("key %q is private; register only public keys", k.KeyID)
		}
		if k.Use != "" && k.Use != "sig" {
			return nil, fmt.Errorf("key %q has use %q; client assertions need signing keys", k.KeyID, k.Use)
		}
	}
	return &set, nil
}

// client is the app as the authorization server sees it.
func (a *App) client() (*smart.Client, error) {
	c := &smart.Client{ID: a.ClientID, Name: a.Name, Sandbox: a.Sandbox, Type: appTypes[a.Type],
		SecretHash: a.SecretHash, RedirectURIs: a.RedirectURIs, LaunchURL: a.LaunchURL,
		Scopes: a.Scopes, JWKSURL: a.JWKSURL, DPoPBound: a.DPoPBoundAccessTokens, HelseID: a.HelseID}
	if a.VKPID != "" {
		c.Claims = map[string]string{"vkp-id": a.VKPID}
	}
	if len(a.JWKS) > 0 {
		set, err := publicKeySet(a.JWKS)
		if err != nil {
			return nil, fmt.Errorf("tenant: stored keys of %s: %w", a.ClientID, err)
		}
		c.JWKS = set
	}
	return c, nil
}

// vkpIDPattern is the form of a welfare-technology hub id:
// Supplier_System_Municipality.
var vkpIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}_[A-Za-z0-9-]{1,64}_[A-Za-z0-9-]{1,64}$`)

// validateHelseID checks the HelseID profile's fields: only a
// confidential-asymmetric app may have it, and only it may have "nhn:…"
// scopes and a vkp-id.
func (a *App) validateHelseID(typ smart.ClientType, external []string) error {
	switch {
	case a.HelseID && typ != smart.ConfidentialAsymmetric:
		return invalid("helseid", "the HelseID profile is for confidential-asymmetric apps (private_key_jwt)")
	case !a.HelseID && len(external) > 0:
		return invalid("scopes", "scope %q is a HelseID scope; register the app with the HelseID profile", external[0])
	case !a.HelseID && a.VKPID != "":
		return invalid("vkp_id", "only an app of the HelseID profile has a vkp-id")
	case a.VKPID != "" && !vkpIDPattern.MatchString(a.VKPID):
		return invalid("vkp_id", "%q: want Supplier_System_Municipality, e.g. Acme_CareApp_5001", a.VKPID)
	}
	for _, sc := range external {
		if !smart.ValidExternalScope(sc) {
			return invalid("scopes", "%q is not a well-formed HelseID scope such as nhn:jft/api", sc)
		}
	}
	return nil
}
