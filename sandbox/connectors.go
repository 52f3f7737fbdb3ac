package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"hpsandbox/connectors"
	"hpsandbox/connectors/example"
	"hpsandbox/connectors/jft"
	"hpsandbox/connectors/mtu"
	"hpsandbox/connectors/pmd"
	"hpsandbox/connectors/vkp"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/sandbox/access"
	"hpsandbox/sandbox/requestlog/ginlog"
	"hpsandbox/sandbox/tenant"
)

// connectorsPath is where connectors' routes are served below a sandbox:
// /connectors/{id}/… for the default sandbox (beside /fhir), and
// /sandboxes/{sandbox}/connectors/{id}/… for the others. A connector's
// routes are per sandbox, as the FHIR API is, so that a token of one
// sandbox is refused on another's, by path.
const connectorsPath = "/connectors"

// catalogue is the connectors compiled into the gateway; Config.Connectors
// picks those served.
var catalogue = map[string]connectors.Opener{
	example.ID: example.Open,
	jft.ID:     jft.Open,
	mtu.ID:     mtu.Open,
	vkp.ID:     vkp.Open,
	pmd.ID:     pmd.Open,
}

// catalogueIDs are the ids of the catalogue, sorted, for messages.
func catalogueIDs() []string {
	ids := make([]string, 0, len(catalogue))
	for id := range catalogue {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// connectorIDs are the connectors Config.Connectors names, in order.
func (c *Config) connectorIDs() []string {
	var ids []string
	for id := range strings.SplitSeq(c.Connectors, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// connectorListens are the listeners Config.ConnectorListen configures.
func (c *Config) connectorListens() ([]connectors.Listen, error) {
	var ls []connectors.Listen
	for s := range strings.SplitSeq(c.ConnectorListen, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		l, err := connectors.ParseListen(s)
		if err != nil {
			return nil, fmt.Errorf("--connector-listen: %w", err)
		}
		if !slices.Contains(c.connectorIDs(), l.Connector) {
			return nil, fmt.Errorf("--connector-listen %q: connector %s is not served; add it to --connectors", s, l.Connector)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// validateConnectors checks the connector settings.
func (c *Config) validateConnectors() error {
	for _, id := range c.connectorIDs() {
		if catalogue[id] == nil {
			return fmt.Errorf("--connectors: there is no connector %q; the connectors are %s", id, strings.Join(catalogueIDs(), ", "))
		}
	}
	_, err := c.connectorListens()
	return err
}

// openConnectors opens the configured connectors, writing into store
// through an engine configured by engineCfg and recording into rec (which
// counts messages and hands them to the request log when it is on),
// serialising with locker (nil: within this process), and
// starts them and their listeners; stop
// stops the listeners, then the connectors.
func openConnectors(cfg Config, store fhirstore.Store, engineCfg interaction.Config, rec messageMetrics, settings connectors.SettingsStore, locker connectors.Locker, log *slog.Logger) (set *connectors.Set, stop func() error, err error) {
	var reg connectors.Registry
	for _, id := range cfg.connectorIDs() {
		if err := reg.Register(id, catalogue[id]); err != nil {
			return nil, nil, err
		}
	}
	deps := connectors.Deps{Engine: sandboxEngine{interaction.New(store, engineCfg), cfg.Issuer()}, Logger: log, Settings: settings, Locker: locker}
	if rec.next != nil || rec.m != nil {
		deps.Recorder = rec
	}
	if set, err = reg.Open(deps); err != nil {
		return nil, nil, err
	}
	listens, err := cfg.connectorListens()
	if err != nil {
		return nil, nil, err
	}
	ctx := context.Background()
	if err := set.Start(ctx); err != nil {
		return nil, nil, err
	}
	ls, err := set.Listen(ctx, listens)
	if err != nil {
		return nil, nil, errors.Join(err, set.Stop(ctx))
	}
	for i, a := range ls.Addrs() {
		log.Info("connector listening", "connector", listens[i].Connector, "addr", a.String(), "sandbox", listens[i].Sandbox)
	}
	return set, func() error { return errors.Join(ls.Close(), set.Stop(context.Background())) }, nil
}

// connectorGate serves connectors' routes behind the same authentication
// as the FHIR API: a secured sandbox needs a token, a token that is sent
// is always checked, and it must be of this sandbox and of an app still
// registered there. What the token's scopes allow is the connector's to
// judge, from the Caller the gate hands it.
type connectorGate struct {
	set     *connectors.Set
	guard   *access.Guard // authenticates as in front of the FHIR API
	maxBody int64
}

// connectorServed marks a request the Set recorded itself, so that the
// gateway's request log leaves it out.
const connectorServed = "hps.connector-served"

func (g *connectorGate) handle(sandboxOf func(*gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		sandbox := sandboxOf(c)
		caller := connectors.Caller{Sandbox: sandbox}
		// A refusal is recorded by the gateway's log, under the connector
		// the path names.
		if n := ginlog.NoteOf(c); n != nil {
			if id, _, _ := strings.Cut(strings.TrimPrefix(c.Param("rest"), "/"), "/"); connectors.ValidID(id) {
				n.Connector = id
			}
		}
		grant, ok := g.guard.Authenticate(c, sandbox)
		if !ok {
			return
		}
		if grant != nil {
			caller.Token, caller.ClientID, caller.Scopes, caller.Grant = true, grant.ClientID, grant.Scopes, grant
			// The guard verified the request's DPoP proof for a bound token.
			caller.DPoP = grant.DPoPKey != ""
		}
		c.Set(connectorServed, true)
		r := c.Request.WithContext(connectors.WithCaller(c.Request.Context(), caller))
		r.Body = http.MaxBytesReader(c.Writer, r.Body, g.maxBody)
		g.set.ServeRoute(c.Writer, r, c.Param("rest"))
		c.Abort()
	}
}

// sandboxEngine is the FHIR engine connectors write through: each sandbox's
// writes are answered under that sandbox's own FHIR base, as its API would
// answer them.
type sandboxEngine struct {
	e    *interaction.Engine
	root string // the server's URL, without the FHIR paths
}

var _ connectors.Engine = sandboxEngine{}

func (s sandboxEngine) base(sandbox fhirstore.Sandbox) string {
	if sandbox == fhirstore.DefaultSandbox {
		return s.root + fhirBasePath
	}
	return s.root + sandboxesPath + "/" + string(sandbox) + fhirBasePath
}

func (s sandboxEngine) Create(ctx context.Context, sandbox fhirstore.Sandbox, resource []byte) (*fhirstore.Resource, error) {
	r, err := s.e.Write(ctx, &interaction.Write{Kind: interaction.Create, Sandbox: sandbox, Base: s.base(sandbox), Body: resource})
	if err != nil {
		return nil, err
	}
	return r.Resource, nil
}

func (s sandboxEngine) Update(ctx context.Context, sandbox fhirstore.Sandbox, resource []byte, ifMatch int64) (*fhirstore.Resource, error) {
	return s.e.UpdateAt(ctx, sandbox, s.base(sandbox), resource, ifMatch)
}

func (s sandboxEngine) Read(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string) (*fhirstore.Resource, error) {
	return s.e.Read(ctx, sandbox, typ, id)
}

func (s sandboxEngine) Search(ctx context.Context, sandbox fhirstore.Sandbox, typ string, params url.Values) (*fhirstore.SearchPage, error) {
	return s.e.Query(ctx, &interaction.SearchRequest{Sandbox: sandbox, Base: s.base(sandbox), Type: typ, Params: params})
}

func (s sandboxEngine) Transaction(ctx context.Context, sandbox fhirstore.Sandbox, bundle []byte) ([]byte, error) {
	return s.e.Bundle(ctx, &interaction.BundleRequest{Sandbox: sandbox, Base: s.base(sandbox), Body: bundle})
}

// ValidatedTransaction is Transaction for a Bundle the connector built and
// vouches is valid R4 (interaction.BundleRequest.Validated).
func (s sandboxEngine) ValidatedTransaction(ctx context.Context, sandbox fhirstore.Sandbox, bundle []byte) ([]byte, error) {
	return s.e.Bundle(ctx, &interaction.BundleRequest{Sandbox: sandbox, Base: s.base(sandbox), Body: bundle, Validated: true})
}

// connectorSettings keeps connectors' settings with the sandboxes' own in
// the tenant registry, once it is open (connectors start before it).
type connectorSettings struct {
	tenants *atomic.Pointer[tenant.Service]
}

var errRegistryNotOpen = errors.New("the tenant registry is not open yet")

func (c connectorSettings) ConnectorSettings(ctx context.Context, sandbox, connector string) ([]byte, error) {
	t := c.tenants.Load()
	if t == nil {
		return nil, errRegistryNotOpen
	}
	return t.ConnectorSettings(ctx, sandbox, connector)
}

func (c connectorSettings) SetConnectorSettings(ctx context.Context, sandbox, connector string, settings []byte) error {
	t := c.tenants.Load()
	if t == nil {
		return errRegistryNotOpen
	}
	return t.SetConnectorSettings(ctx, sandbox, connector, settings)
}
