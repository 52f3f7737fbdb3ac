package smart

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config configures the authorization server. The zero value of every
// duration means "use the default"; Issuer is required.
type Config struct {
	// Issuer is the server's base URL, e.g. http://127.0.0.1:8080. It is the
	// `iss` of every token and the base of the /auth endpoints.
	Issuer string
	// FHIRBase is the FHIR endpoint tokens are for (the `aud` an app sends);
	// defaults to Issuer + "/fhir".
	FHIRBase string
	// AccessTokenTTL is the lifetime of access tokens and id_tokens.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the lifetime of each refresh token.
	RefreshTokenTTL time.Duration
	// CodeTTL is the lifetime of an authorization code.
	CodeTTL time.Duration
	// SkipLogin skips the simulated login page; the user then comes from the
	// EHR launch context, if any.
	SkipLogin bool
	// SkipConsent skips the consent page and approves every requested scope.
	SkipConsent bool
}

// Defaults used for zero-valued Config fields. They follow what EHRs commonly
// issue: one-hour access tokens, short codes.
const (
	DefaultAccessTokenTTL  = time.Hour
	DefaultRefreshTokenTTL = 90 * 24 * time.Hour
	DefaultCodeTTL         = 5 * time.Minute
	// sessionTTL bounds how long a user may spend on the login, picker and
	// consent pages of one authorization request.
	sessionTTL = 30 * time.Minute
	// launchTTL bounds how long an EHR launch id stays usable.
	launchTTL = 10 * time.Minute
)

// withDefaults returns c with defaults filled in, validated.
func (c Config) withDefaults() (Config, error) {
	if c.Issuer == "" {
		return c, errors.New("smart: Config.Issuer is required (the server's base URL, e.g. http://127.0.0.1:8080)")
	}
	c.Issuer = strings.TrimRight(c.Issuer, "/")
	if err := checkBaseURL("Issuer", c.Issuer); err != nil {
		return c, err
	}
	if c.FHIRBase == "" {
		c.FHIRBase = c.Issuer + "/fhir"
	}
	c.FHIRBase = strings.TrimRight(c.FHIRBase, "/")
	if err := checkBaseURL("FHIRBase", c.FHIRBase); err != nil {
		return c, err
	}
	if c.AccessTokenTTL == 0 {
		c.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if c.RefreshTokenTTL == 0 {
		c.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if c.CodeTTL == 0 {
		c.CodeTTL = DefaultCodeTTL
	}
	for name, d := range map[string]time.Duration{
		"AccessTokenTTL": c.AccessTokenTTL, "RefreshTokenTTL": c.RefreshTokenTTL, "CodeTTL": c.CodeTTL,
	} {
		if d < 0 {
			return c, fmt.Errorf("smart: Config.%s is negative (%s); use a positive duration or 0 for the default", name, d)
		}
	}
	return c, nil
}

func checkBaseURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("smart: Config.%s %q is not an absolute http(s) URL without query or fragment", field, raw)
	}
	return nil
}

// urlPath returns the path part of an absolute URL ("" for the root).
func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}
