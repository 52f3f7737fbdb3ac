package sandbox

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/search"
	"hpsandbox/sandbox/access"
	"hpsandbox/sandbox/peers"
	"hpsandbox/sandbox/subscription"
	"hpsandbox/sandbox/tenant"
	"hpsandbox/smart"
)

var _ subscription.Leases = (*peers.Leases)(nil)

// websocketPath is where a sandbox's subscription websocket is served,
// beside its FHIR base: /websocket for the default sandbox,
// /sandboxes/{id}/websocket for the others.
const websocketPath = "/websocket"

// subscriptionPolicy is the rest-hook endpoint policy of cfg.
func subscriptionPolicy(cfg Config) subscription.EndpointPolicy {
	var hosts []string
	for _, h := range strings.Split(cfg.SubscriptionHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return subscription.EndpointPolicy{AllowHosts: hosts, AllowLoopback: cfg.SubscriptionLoopback}
}

// websocketURL is the websocket of the sandbox whose FHIR base is base, as
// the CapabilityStatement advertises it.
func websocketURL(base string) string {
	u := strings.TrimSuffix(base, fhirBasePath) + websocketPath
	if rest, ok := strings.CutPrefix(u, "https://"); ok {
		return "wss://" + rest
	}
	return "ws://" + strings.TrimPrefix(u, "http://")
}

// mountSubscriptions runs the subscription manager over store when the
// store reports its commits, and serves the websocket channel. It returns
// what stops the subscriptions of an erased sandbox.
func mountSubscriptions(e *gin.Engine, perSandbox *gin.RouterGroup, cfg Config, store fhirstore.Store,
	authz *smart.Server, sbs *sandboxes, bus *peers.Bus, log *slog.Logger, track func(func() error)) (forget func(sandbox string)) {
	reporter, ok := store.(fhirstore.CommitReporter)
	if !ok {
		log.Warn("subscriptions are off: the store does not report its commits")
		return func(string) {}
	}
	issuer := cfg.Issuer()
	fhirBase := func(sb fhirstore.Sandbox) string {
		if sb == fhirstore.DefaultSandbox {
			return issuer + fhirBasePath
		}
		return issuer + sandboxesPath + "/" + string(sb) + fhirBasePath
	}
	hub := subscription.NewHub(subscription.HubConfig{
		Store:   store,
		Secured: sbs.secured,
		Authenticate: func(ctx context.Context, sandbox, token string, proof subscription.Proof) error {
			g, err := authz.AuthenticateToken(ctx, token)
			if err != nil {
				return err
			}
			if sandboxOr(g.Sandbox) != sandbox {
				return errors.New("the token is for another sandbox")
			}
			if in, err := sbs.clientIn(ctx, g.ClientID, sandbox); err != nil || !in {
				return errors.New("the token's app is not registered in this sandbox")
			}
			if g.DPoPKey != "" {
				return websocketDPoP(ctx, authz, token, proof)
			}
			return nil
		},
		URL:   func(sandbox string) string { return websocketURL(fhirBase(fhirstore.Sandbox(sandbox))) },
		Nonce: authz.DPoPNonce,
	})
	scfg := subscription.Config{
		Endpoints: subscriptionPolicy(cfg),
		Base:      fhirBase,
		Logger:    log,
	}
	if bus != nil {
		// Each active subscription runs on the one gateway holding its
		// lease; the others take it over when that one stops or dies.
		scfg.Shared, scfg.Websocket = true, wsRelay{bus}
		scfg.Leases, scfg.Sandboxes = bus.Leases("subscription"), sbs.all
		scfg.LeaseTTL, scfg.Sweep = cfg.SubscriptionTakeover, cfg.SubscriptionTakeover/3
	}
	m := subscription.New(store, hub, scfg)
	stop := reporter.ObserveCommits(m.Committed)
	track(func() error { stop(); return errors.Join(m.Close(), hub.Close()) })
	if bus != nil {
		shareSubscriptions(bus, store, m, hub, log, track)
	}
	e.GET(websocketPath, func(c *gin.Context) { hub.Serve(c.Writer, c.Request, fhirstore.DefaultSandbox) })
	perSandbox.GET(websocketPath, func(c *gin.Context) { hub.Serve(c.Writer, c.Request, c.Param("sandbox")) })
	return func(sandbox string) { m.Forget(fhirstore.Sandbox(sandbox)) }
}

// all lists every sandbox of the registry (the default one among them),
// whose subscriptions the gateways' claim sweeps look through.
func (s *sandboxes) all(ctx context.Context) ([]fhirstore.Sandbox, error) {
	list, err := s.svc.Sandboxes(ctx, &tenant.Account{Role: tenant.RoleOperator})
	if err != nil {
		return nil, err
	}
	out := make([]fhirstore.Sandbox, len(list))
	for i, sb := range list {
		out[i] = fhirstore.Sandbox(sb.ID)
	}
	return out, nil
}

// websocketDPoP checks the websocket upgrade's DPoP proof of a bound
// token as the resource server checks a request's (smart's AuthenticateAt:
// one proof, htm GET, htu the websocket's public URL, ath the token's
// hash, the key the token is bound to, the server's nonce, a fresh jti).
func websocketDPoP(ctx context.Context, authz *smart.Server, token string, proof subscription.Proof) error {
	if len(proof.DPoP) == 0 {
		return &subscription.DPoPError{Reason: "the websocket upgrade request must carry a DPoP proof (htm GET, htu " +
			proof.URL + ", ath the token's hash, the server's nonce from the DPoP-Nonce header)"}
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, proof.URL, nil)
	if err != nil {
		return &subscription.DPoPError{Reason: "the websocket's URL is not valid"}
	}
	r.Header.Set("Authorization", "DPoP "+token)
	for _, p := range proof.DPoP {
		r.Header.Add("DPoP", p)
	}
	if _, err := authz.AuthenticateAt(r, proof.URL); err != nil {
		var se *smart.Error
		if errors.As(err, &se) && se.Description != "" {
			reason := se.Description
			if se.DPoPNonce != "" {
				reason += " (DPoP-Nonce: " + se.DPoPNonce + ")"
			}
			return &subscription.DPoPError{Reason: reason}
		}
		return err
	}
	return nil
}

// declareWriterScope is the middleware, after the access guard, that
// declares what a token's writer may read (fhirstore.WriterScope) on the
// requests that may write a Subscription: those to /Subscription and
// Bundles to the base. The guard's confinement covers only the types a
// request touches; a subscription's matches must be confined as its
// writer's reads of the criteria type would be (package subscription).
func declareWriterScope(authz *smart.Server, sandboxOf func(*gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		m := c.Request.Method
		if m != http.MethodPost && m != http.MethodPut && m != http.MethodPatch {
			return
		}
		path := strings.Trim(c.Param("path"), "/")
		if path != "" && path != "Subscription" && !strings.HasPrefix(path, "Subscription/") {
			return
		}
		_, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
		if !ok {
			return
		}
		// The guard verified the token (and any DPoP proof) already.
		g, err := authz.AuthenticateToken(c.Request.Context(), strings.TrimSpace(token))
		if err != nil {
			return
		}
		scope := &fhirstore.WriterScope{Confinement: readConfinement(g, sandboxOf(c), authz.Config().FHIRBase)}
		c.Request = c.Request.WithContext(fhirstore.WithWriterScope(c.Request.Context(), scope))
	}
}

// readConfinement is what g may read in sandbox, over every resource type:
// as the access guard decides a search of each; nil when g reads
// everything.
func readConfinement(g *smart.Grant, sandbox, base string) *search.Confinement {
	var out search.Confinement
	confined := false
	for _, typ := range fhirjson.Types() {
		d := access.Decide(g, &access.Request{Sandbox: sandbox, Base: base,
			Route: &interaction.Request{Method: http.MethodGet, Kind: interaction.SearchType, Type: typ}})
		switch {
		case d.Effect == access.Refuse:
			out.Excluded = append(out.Excluded, typ)
			confined = true
		case d.Confinement != nil:
			confined = true
			c := d.Confinement
			if c.Applies(typ) {
				out.Compartment, out.Base = c.Compartment, c.Base
				out.Types = append(out.Types, typ)
			}
			if cs, ok := c.ConstraintsOf(typ); ok {
				if out.Constraints == nil {
					out.Constraints = map[string][]search.Constraint{}
				}
				out.Constraints[typ] = cs
			}
			if c.Excludes(typ) {
				out.Excluded = append(out.Excluded, typ)
			}
		}
	}
	if !confined {
		return nil
	}
	if out.Types == nil {
		out.Types = []string{} // only the types named, never every type
	}
	return &out
}
