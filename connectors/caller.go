package connectors

import (
	"context"

	"hpsandbox/smart"
)

// Caller is who sent a connector's exchange, as the gateway found it: the
// sandbox the exchange belongs to and, when a token was presented, its app
// and scopes. A listener's exchanges carry the sandbox it was configured
// for and no token.
type Caller struct {
	Sandbox string
	// Token is true when the caller presented an access token that the
	// gateway accepted for Sandbox; ClientID and Scopes are then the
	// token's. Without one, the gateway admitted the caller because the
	// sandbox is open (or the exchange came through a listener).
	Token    bool
	ClientID string
	Scopes   smart.Scopes
	// Grant is the accepted token's grant (its every scope string, its
	// claims, its DPoP binding); nil without a token.
	Grant *smart.Grant
	// DPoP is true when the token is DPoP-bound (Grant.DPoPKey) and the
	// request carried a DPoP proof (RFC 9449) the gateway verified for
	// this request and this token.
	DPoP bool
}

// MayCreate reports whether the caller may create resources of
// resourceType: always without a token (the sandbox is open), and with one
// when a user- or system-level scope grants create on the type without
// constraints. Patient-level scopes do not suffice: a connector does not
// confine what it writes to one patient's compartment.
func (c Caller) MayCreate(resourceType string) bool {
	if !c.Token {
		return true
	}
	for _, level := range []smart.Level{smart.LevelSystem, smart.LevelUser} {
		if a := c.Scopes.Access(level, resourceType, smart.Create); a.Allowed && len(a.Constraints) == 0 {
			return true
		}
	}
	return false
}

type callerKey struct{}

// WithCaller returns ctx carrying c, for the handlers and listeners of
// connectors.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the Caller in ctx; ok is false when there is none or
// it names no sandbox, and a connector must then refuse the exchange.
func CallerFrom(ctx context.Context) (c Caller, ok bool) {
	c, ok = ctx.Value(callerKey{}).(Caller)
	return c, ok && c.Sandbox != ""
}
