package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"hpsandbox/smart"
)

// NewApp is what registering an app may say.
type NewApp struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	LaunchURL    string   `json:"launch_url,omitempty"`
	// Scopes the app may ask for; empty gives DefaultAppScopes (or
	// system/*.rs to a backend service).
	Scopes  string          `json:"scopes,omitempty"`
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
}

// RegisterApp registers an app in a sandbox who may change. For a
// confidential-symmetric app it returns the client secret, which is not
// kept and cannot be shown again.
func (s *Service) RegisterApp(ctx context.Context, who *Account, sandbox string, req NewApp) (*App, string, error) {
	if _, err := s.changeable(ctx, who, sandbox); err != nil {
		return nil, "", err
	}
	return s.registerApp(ctx, sandbox, req, false)
}

func (s *Service) registerApp(ctx context.Context, sandbox string, req NewApp, dynamic bool) (*App, string, error) {
	a, secret, err := s.newApp(sandbox, req, dynamic)
	if err != nil {
		return nil, "", err
	}
	if err := s.reg.CreateApp(ctx, a); err != nil {
		return nil, "", err
	}
	// A gateway may remember the client id as no app's.
	s.changed(ctx, sandbox)
	return a, secret, nil
}

// newApp makes and checks the app req describes, with its secret if it
// has one, without storing it.
func (s *Service) newApp(sandbox string, req NewApp, dynamic bool) (*App, string, error) {
	a := &App{ClientID: "app-" + randomID(10), Sandbox: sandbox, Name: strings.TrimSpace(req.Name), Type: req.Type,
		RedirectURIs: req.RedirectURIs, LaunchURL: req.LaunchURL, Scopes: strings.Join(strings.Fields(req.Scopes), " "),
		JWKS: req.JWKS, JWKSURL: req.JWKSURL, Dynamic: dynamic, Created: s.now().UTC(),
		DPoPBoundAccessTokens: req.DPoPBoundAccessTokens, HelseID: req.HelseID, VKPID: req.VKPID}
	if a.RedirectURIs == nil {
		a.RedirectURIs = []string{}
	}
	if a.Scopes == "" {
		a.Scopes = DefaultAppScopes
		if a.Type == smart.ConfidentialAsymmetric.String() && len(a.RedirectURIs) == 0 {
			a.Scopes = "system/*.rs"
		}
	}
	if err := a.validate(); err != nil {
		return nil, "", err
	}
	var secret string
	if a.Type == smart.ConfidentialSymmetric.String() {
		secret = randomID(32)
		h, err := bcrypt.GenerateFromPassword([]byte(secret), s.cost)
		if err != nil {
			return nil, "", err
		}
		a.SecretHash = h
	}
	return a, secret, nil
}

// Apps lists a sandbox's apps for who.
func (s *Service) Apps(ctx context.Context, who *Account, sandbox string) ([]*App, error) {
	if _, err := s.SandboxFor(ctx, who, sandbox); err != nil {
		return nil, err
	}
	return s.reg.Apps(ctx, sandbox)
}

// App returns one app of a sandbox who may see.
func (s *Service) App(ctx context.Context, who *Account, sandbox, clientID string) (*App, error) {
	if _, err := s.SandboxFor(ctx, who, sandbox); err != nil {
		return nil, err
	}
	a, err := s.reg.App(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if a.Sandbox != sandbox {
		return nil, fmt.Errorf("%w: app %q", ErrNotFound, clientID)
	}
	return a, nil
}

// DeleteApp removes an app; its tokens stop working at their next check.
func (s *Service) DeleteApp(ctx context.Context, who *Account, sandbox, clientID string) error {
	if _, err := s.changeable(ctx, who, sandbox); err != nil {
		return err
	}
	if err := s.reg.DeleteApp(ctx, sandbox, clientID); err != nil {
		return err
	}
	s.changed(ctx, sandbox)
	return nil
}

// Clients is the registered apps as the authorization server looks them
// up, besides fixed clients (the demo apps) that are not in the registry.
type Clients struct {
	s     *Service
	fixed *smart.MemoryClients
}

// Clients returns the smart.ClientStore of the registered apps and fixed.
func (s *Service) Clients(fixed ...*smart.Client) *Clients {
	return &Clients{s: s, fixed: smart.NewMemoryClients(fixed...)}
}

var _ smart.ClientStore = (*Clients)(nil)

// Client implements smart.ClientStore.
func (c *Clients) Client(ctx context.Context, id string) (*smart.Client, error) {
	if cl, err := c.fixed.Client(ctx, id); err == nil {
		return cl, nil
	}
	a, err := c.s.reg.App(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", smart.ErrClientNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	return a.client()
}
