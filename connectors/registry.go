package connectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// Deps are what the gateway gives a connector when it opens it.
type Deps struct {
	// Engine is what the connector writes FHIR through.
	Engine Engine
	// Recorder takes the connector's evidence; nil records nothing.
	Recorder Recorder
	// Logger is for the operator, never for evidence (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Settings keeps a connector's settings of a sandbox with the
	// sandbox's own settings (nil: the connector keeps them in memory).
	Settings SettingsStore
	// Locker serialises work on one key across the gateways that share it
	// (nil: each connector serialises within its process, LocalLocker).
	Locker Locker

	// checks are the connector's own checks, known once it opened:
	// Registry.Open sets them, and the Evidence made from these Deps
	// judges every exchange it records with them.
	checks *checkList
}

// SettingsStore keeps connectors' settings of each sandbox where the
// sandbox's own settings live, so that they survive a restart and every
// gateway reads the same.
type SettingsStore interface {
	// ConnectorSettings returns the settings connector keeps for sandbox,
	// nil when it keeps none.
	ConnectorSettings(ctx context.Context, sandbox, connector string) ([]byte, error)
	// SetConnectorSettings replaces them.
	SetConnectorSettings(ctx context.Context, sandbox, connector string, settings []byte) error
}

// checkList is a connector's checks, filled in after it opened.
type checkList struct{ checks []Check }

// Evidence returns the Evidence of connector id over d's Recorder. When
// the Deps came from Registry.Open and the connector offers checks, the
// Evidence judges each exchange with them as it records it.
func (d Deps) Evidence(id string) *Evidence {
	ev := NewEvidence(d.Recorder, id, d.Now)
	ev.checks = d.checks
	return ev
}

// Opener makes a connector from what the gateway gives it. Configuration
// of its own is the Opener's to hold (dex's ConnectorConfig.Open shape).
type Opener func(Deps) (Connector, error)

// Registry is the connectors a gateway may run, by id, in the order
// registered. The zero value is an empty registry.
type Registry struct {
	ids   []string
	opens map[string]Opener
}

// Register adds a connector under id, which must be a ValidID not yet
// registered; the connector Opener makes must have that ID.
func (r *Registry) Register(id string, open Opener) error {
	switch {
	case !ValidID(id):
		return fmt.Errorf("connectors: %q is not a connector id: use 1 to 32 lower-case letters, digits and hyphens, starting with a letter", id)
	case open == nil:
		return fmt.Errorf("connectors: %s: no opener", id)
	case r.opens[id] != nil:
		return fmt.Errorf("connectors: %s is registered twice", id)
	}
	if r.opens == nil {
		r.opens = map[string]Opener{}
	}
	r.ids = append(r.ids, id)
	r.opens[id] = open
	return nil
}

// IDs returns the registered ids, in the order registered.
func (r *Registry) IDs() []string { return slices.Clone(r.ids) }

// Open opens every registered connector with deps and checks what they
// offer: routes that net/http can mount, check ids unique among all
// connectors. A nil Registry opens an empty Set.
func (r *Registry) Open(deps Deps) (*Set, error) {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	s := &Set{byID: map[string]*mounted{}, log: deps.Logger, ev: deps.Evidence("")}
	if r == nil {
		return s, nil
	}
	checks := map[string]string{}
	for _, id := range r.ids {
		deps := deps
		deps.checks = &checkList{}
		c, err := r.opens[id](deps)
		if err != nil {
			return nil, fmt.Errorf("connectors: opening %s: %w", id, err)
		}
		if c == nil || c.ID() != id {
			return nil, fmt.Errorf("connectors: the connector registered as %s opened as %q", id, idOf(c))
		}
		m := &mounted{c: c, ev: deps.Evidence(id)}
		if rc, ok := c.(RouteConnector); ok {
			if m.mux, err = muxOf(rc.Routes()); err != nil {
				return nil, fmt.Errorf("connectors: %s: %w", id, err)
			}
			m.routes = rc.Routes()
		}
		if cc, ok := c.(CheckConnector); ok {
			for _, ch := range cc.Checks() {
				if ch.ID == "" || ch.Judge == nil {
					return nil, fmt.Errorf("connectors: %s: a check without an id or a Judge", id)
				}
				if other, dup := checks[ch.ID]; dup {
					return nil, fmt.Errorf("connectors: check %s of %s is also %s's", ch.ID, id, other)
				}
				checks[ch.ID] = id
			}
			deps.checks.checks = cc.Checks()
		}
		s.list = append(s.list, c)
		s.byID[id] = m
	}
	return s, nil
}

func idOf(c Connector) string {
	if c == nil {
		return "<nil>"
	}
	return c.ID()
}

// muxOf puts routes on a ServeMux, turning its panics over bad or
// conflicting patterns into an error.
func muxOf(routes []Route) (mux *http.ServeMux, err error) {
	mux = http.NewServeMux()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("routes: %v", p)
		}
	}()
	for _, rt := range routes {
		if rt.Method == "" || len(rt.Path) == 0 || rt.Path[0] != '/' || rt.Handler == nil {
			return nil, fmt.Errorf("route %q %q: want a method, a path starting with / and a handler", rt.Method, rt.Path)
		}
		mux.Handle(rt.Method+" "+rt.Path, rt.Handler)
	}
	return mux, nil
}

// Set is the opened connectors of a gateway; Registry.Open makes it.
type Set struct {
	list []Connector
	byID map[string]*mounted
	log  *slog.Logger
	ev   *Evidence // of exchanges that name no connector
}

type mounted struct {
	c      Connector
	ev     *Evidence
	mux    *http.ServeMux // nil without routes
	routes []Route
}

// Connectors returns the opened connectors, in the order registered.
func (s *Set) Connectors() []Connector { return slices.Clone(s.list) }

// Get returns the connector id.
func (s *Set) Get(id string) (Connector, bool) {
	m, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return m.c, true
}

// Checks returns the checks of every connector, in the order registered.
func (s *Set) Checks() []Check {
	var out []Check
	for _, c := range s.list {
		if cc, ok := c.(CheckConnector); ok {
			out = append(out, cc.Checks()...)
		}
	}
	return out
}

// Start starts every connector that is a Starter, in order; when one
// fails, those started are stopped again.
func (s *Set) Start(ctx context.Context) error {
	for i, c := range s.list {
		st, ok := c.(Starter)
		if !ok {
			continue
		}
		if err := st.Start(ctx); err != nil {
			return errors.Join(fmt.Errorf("connectors: starting %s: %w", c.ID(), err), s.stop(ctx, s.list[:i]))
		}
	}
	return nil
}

// Stop stops every connector that is a Starter, in reverse order.
func (s *Set) Stop(ctx context.Context) error { return s.stop(ctx, s.list) }

func (s *Set) stop(ctx context.Context, list []Connector) error {
	var errs []error
	for _, c := range slices.Backward(list) {
		if st, ok := c.(Starter); ok {
			if err := st.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("connectors: stopping %s: %w", c.ID(), err))
			}
		}
	}
	return errors.Join(errs...)
}
