package portal

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"hpsandbox/sandbox/tenant"
)

// OIDCConfig configures sign-in through an external OpenID Connect
// provider. An identity signs in to the account an operator linked to its
// issuer and subject; the portal never creates accounts from identities.
type OIDCConfig struct {
	// Name is the provider as the sign-in button names it ("Sign in with
	// Name").
	Name string
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer/.well-known/openid-configuration.
	Issuer string
	// ClientID and ClientSecret are the portal's registration at the
	// provider. An empty secret makes the portal a public client (PKCE only).
	ClientID, ClientSecret string
	// RedirectURL is the portal's callback as registered at the provider:
	// the public URL followed by /portal/login/oidc/callback.
	RedirectURL string
	// Scopes are requested besides openid.
	Scopes []string
	// AuthParams are added to the authorization request, for providers
	// that need more than OpenID Connect asks (a SMART on FHIR
	// authorization server wants aud, the FHIR base URL).
	AuthParams map[string]string
	// HTTPClient calls the provider; nil uses a client with a 15 s timeout.
	HTTPClient *http.Client
}

// oidcCallbackPath is the callback below /portal.
const oidcCallbackPath = "/login/oidc/callback"

// oidcFlowTTL bounds the time from "Sign in with …" to the callback.
const oidcFlowTTL = 10 * time.Minute

// oidcClient is the portal's side of the provider, discovered on first use.
type oidcClient struct {
	cfg  OIDCConfig
	http *http.Client
	now  func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

func newOIDCClient(cfg OIDCConfig, now func() time.Time) (*oidcClient, error) {
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if cfg.Name == "" {
		cfg.Name = "OpenID Connect"
	}
	iss, err := url.Parse(cfg.Issuer)
	switch {
	case err != nil || (iss.Scheme != "https" && iss.Scheme != "http") || iss.Host == "":
		return nil, fmt.Errorf("portal: OIDC.Issuer %q is not an absolute http(s) URL", cfg.Issuer)
	case cfg.ClientID == "":
		return nil, errors.New("portal: OIDC.ClientID is required (the portal's client id at the provider)")
	}
	ru, err := url.Parse(cfg.RedirectURL)
	if err != nil || !ru.IsAbs() || !strings.HasSuffix(ru.Path, basePath+oidcCallbackPath) {
		return nil, fmt.Errorf("portal: OIDC.RedirectURL %q: want the absolute public URL of %s%s, registered at the provider", cfg.RedirectURL, basePath, oidcCallbackPath)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &oidcClient{cfg: cfg, http: hc, now: now}, nil
}

// discover returns the provider, fetching its discovery document the
// first time (and again after a failure).
func (o *oidcClient) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.http), o.cfg.Issuer)
		if err != nil {
			return nil, nil, err
		}
		o.provider = p
		o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.now})
	}
	return o.provider, o.verifier, nil
}

func (o *oidcClient) oauth2(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: o.cfg.RedirectURL, Scopes: append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...)}
}

// oidcFlow is what the browser carries, signed, from the start of a
// sign-in to its callback.
type oidcFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"`
}

// oidcStart sends the browser to the provider: authorization code with
// PKCE (S256), state and nonce.
func (p *Portal) oidcStart(c *gin.Context, v *visit) {
	if p.oidc == nil {
		p.notFound(c, v)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 15*time.Second)
	defer cancel()
	prov, _, err := p.oidc.discover(ctx)
	if err != nil {
		p.log.ErrorContext(ctx, "portal: OpenID Connect discovery failed", "issuer", p.oidc.cfg.Issuer, "err", err)
		p.renderStatus(c, v, http.StatusBadGateway, "Sign-in unavailable",
			fmt.Sprintf("%s cannot be reached right now. Try again later, or sign in with a portal account.", p.oidc.cfg.Name))
		return
	}
	flow := oidcFlow{State: randomString(24), Nonce: randomString(24), Verifier: oauth2.GenerateVerifier(),
		Next: safeNext(c.Query("next")), Expires: p.now().Add(oidcFlowTTL).Unix()}
	p.setCookie(c, oidcCookie, p.seal("oidc", flow), time.Unix(flow.Expires, 0))
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(flow.Verifier), oidc.Nonce(flow.Nonce)}
	for k, val := range p.oidc.cfg.AuthParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, val))
	}
	c.Redirect(http.StatusFound, p.oidc.oauth2(prov).AuthCodeURL(flow.State, opts...))
}

// oidcCallback finishes a sign-in: it checks the state, redeems the code
// with the PKCE verifier, verifies the id_token (signature, issuer,
// audience, expiry, nonce) and signs in the account linked to its issuer
// and subject.
func (p *Portal) oidcCallback(c *gin.Context, v *visit) {
	if p.oidc == nil {
		p.notFound(c, v)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 15*time.Second)
	defer cancel()
	refuse := func(status int, text string) {
		p.clearCookie(c, oidcCookie)
		p.renderStatus(c, v, status, "Sign-in failed", text)
	}
	var flow oidcFlow
	raw, err := c.Cookie(oidcCookie)
	if err != nil || p.open("oidc", raw, &flow) != nil || p.now().Unix() >= flow.Expires ||
		subtle.ConstantTimeCompare([]byte(c.Query("state")), []byte(flow.State)) != 1 {
		refuse(http.StatusBadRequest, "This sign-in answer does not belong to a sign-in started here, or it took too long. Start again.")
		return
	}
	if e := c.Query("error"); e != "" {
		p.log.InfoContext(ctx, "portal: OpenID Connect provider refused sign-in", "error", e)
		refuse(http.StatusUnauthorized, fmt.Sprintf("%s did not sign you in (%s).", p.oidc.cfg.Name, e))
		return
	}
	prov, verifier, err := p.oidc.discover(ctx)
	if err != nil {
		p.log.ErrorContext(ctx, "portal: OpenID Connect discovery failed", "issuer", p.oidc.cfg.Issuer, "err", err)
		refuse(http.StatusBadGateway, fmt.Sprintf("%s cannot be reached right now. Try again later.", p.oidc.cfg.Name))
		return
	}
	tok, err := p.oidc.oauth2(prov).Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.oidc.http),
		c.Query("code"), oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		p.log.WarnContext(ctx, "portal: OpenID Connect code exchange failed", "err", err)
		refuse(http.StatusBadGateway, fmt.Sprintf("%s did not accept the sign-in. Start again.", p.oidc.cfg.Name))
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, rawID)
	if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		p.log.WarnContext(ctx, "portal: OpenID Connect id_token refused", "err", err)
		refuse(http.StatusBadGateway, fmt.Sprintf("The identity %s sent could not be verified. Start again.", p.oidc.cfg.Name))
		return
	}
	acct, err := p.d.Tenants.AccountByOIDC(ctx, idt.Issuer, idt.Subject)
	if errors.Is(err, tenant.ErrNotFound) {
		p.log.InfoContext(ctx, "portal: OpenID Connect identity has no account", "issuer", idt.Issuer, "subject", idt.Subject)
		p.clearCookie(c, oidcCookie)
		p.render(c, v, http.StatusForbidden, "unlinked", "No portal account", unlinkedData{
			Provider: p.oidc.cfg.Name, Issuer: idt.Issuer, Subject: idt.Subject})
		return
	}
	if err != nil {
		p.fail(c, v, err)
		return
	}
	p.clearCookie(c, oidcCookie)
	if acct.Pending() {
		p.renderStatus(c, v, http.StatusForbidden, "Awaiting approval", pendingText)
		return
	}
	p.startSession(c, acct, "oidc")
	c.Redirect(http.StatusSeeOther, flow.Next)
}

// unlinkedData is the page for an identity no account is linked to: it
// shows the issuer and subject an operator needs to link one.
type unlinkedData struct {
	Provider, Issuer, Subject string
}
