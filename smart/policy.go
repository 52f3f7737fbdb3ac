package smart

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Policy is what one sandbox (tenant) changes of the server's Config.
// Suppliers' sandboxes have their own FHIR base, so the `aud` of their
// authorizations and tokens differs, and their own login, consent and
// token-lifetime settings.
type Policy struct {
	// FHIRBase is the sandbox's FHIR base URL: the aud its apps must send
	// and its access tokens carry, and the iss of its EHR launches.
	FHIRBase string
	// SkipLogin and SkipConsent replace Config's for the sandbox.
	SkipLogin, SkipConsent bool
	// AccessTokenTTL and RefreshTokenTTL replace Config's when non-zero;
	// they are capped at MaxPolicyTTL.
	AccessTokenTTL, RefreshTokenTTL time.Duration
	// RegistrationEndpoint, when set, is announced in the sandbox's
	// discovery document (RFC 7591 dynamic registration).
	RegistrationEndpoint string
}

// MaxPolicyTTL caps a sandbox's token lifetimes.
const MaxPolicyTTL = 366 * 24 * time.Hour

// Policies looks up sandboxes' policies. An error (such as for a sandbox
// that was deleted) makes authorizations and tokens of that sandbox fail.
type Policies interface {
	Policy(ctx context.Context, sandbox string) (Policy, error)
}

// policy returns the effective policy of sandbox: Config's, with what
// Deps.Policies says for it.
func (s *Server) policy(ctx context.Context, sandbox string) (Policy, error) {
	p := Policy{FHIRBase: s.cfg.FHIRBase, SkipLogin: s.cfg.SkipLogin, SkipConsent: s.cfg.SkipConsent,
		AccessTokenTTL: s.cfg.AccessTokenTTL, RefreshTokenTTL: s.cfg.RefreshTokenTTL}
	if s.policies == nil {
		return p, nil
	}
	got, err := s.policies.Policy(ctx, sandbox)
	if err != nil {
		return Policy{}, fmt.Errorf("smart: policy of sandbox %q: %w", sandbox, err)
	}
	if got.FHIRBase != "" {
		p.FHIRBase = strings.TrimRight(got.FHIRBase, "/")
	}
	p.SkipLogin, p.SkipConsent, p.RegistrationEndpoint = got.SkipLogin, got.SkipConsent, got.RegistrationEndpoint
	if got.AccessTokenTTL > 0 {
		p.AccessTokenTTL = min(got.AccessTokenTTL, MaxPolicyTTL)
	}
	if got.RefreshTokenTTL > 0 {
		p.RefreshTokenTTL = min(got.RefreshTokenTTL, MaxPolicyTTL)
	}
	return p, nil
}

// FHIRBaseOf returns the FHIR base URL of sandbox (Config.FHIRBase unless
// its policy says otherwise).
func (s *Server) FHIRBaseOf(ctx context.Context, sandbox string) (string, error) {
	p, err := s.policy(ctx, sandbox)
	return p.FHIRBase, err
}
