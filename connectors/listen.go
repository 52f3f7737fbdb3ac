package connectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
)

// Listen configures one listener: the ListenConnector that serves it, the
// TCP address it binds, and the sandbox its messages are written to.
type Listen struct {
	Connector string
	Addr      string // host:port; port 0 picks a free one
	Sandbox   string
}

// ParseListen reads a listener's configuration from "id=host:port@sandbox",
// the form of HPS_CONNECTOR_LISTEN (comma-separated, for several).
func ParseListen(s string) (Listen, error) {
	id, rest, ok1 := strings.Cut(s, "=")
	addr, sandbox, ok2 := strings.Cut(rest, "@")
	if !ok1 || !ok2 || !ValidID(id) || addr == "" || sandbox == "" {
		return Listen{}, fmt.Errorf("connector listener %q: want id=host:port@sandbox, e.g. mtu=127.0.0.1:2575@default", s)
	}
	return Listen{Connector: id, Addr: addr, Sandbox: sandbox}, nil
}

// Listeners are listeners being served; Close stops them.
type Listeners struct {
	addrs  []net.Addr
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// Listen binds every listener in ls and serves each with its connector,
// until ctx ends or Close is called. When one cannot be bound, or names a
// connector that does not serve listeners, none is served.
func (s *Set) Listen(ctx context.Context, ls []Listen) (*Listeners, error) {
	type bound struct {
		c      ListenConnector
		l      net.Listener
		caller Caller
	}
	var bs []bound
	closeAll := func() {
		for _, b := range bs {
			b.l.Close()
		}
	}
	var lc net.ListenConfig
	for _, cfg := range ls {
		m := s.byID[cfg.Connector]
		if m == nil {
			closeAll()
			return nil, fmt.Errorf("connectors: listener %s: no connector %q is registered", cfg.Addr, cfg.Connector)
		}
		c, ok := m.c.(ListenConnector)
		if !ok {
			closeAll()
			return nil, fmt.Errorf("connectors: listener %s: connector %s does not serve listeners", cfg.Addr, cfg.Connector)
		}
		if cfg.Sandbox == "" {
			closeAll()
			return nil, fmt.Errorf("connectors: listener %s of %s: no sandbox to write to", cfg.Addr, cfg.Connector)
		}
		l, err := lc.Listen(ctx, "tcp", cfg.Addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("connectors: listener of %s: %w", cfg.Connector, err)
		}
		bs = append(bs, bound{c: c, l: l, caller: Caller{Sandbox: cfg.Sandbox}})
	}
	ctx, cancel := context.WithCancel(ctx)
	out := &Listeners{cancel: cancel}
	for _, b := range bs {
		out.addrs = append(out.addrs, b.l.Addr())
		out.wg.Go(func() {
			if err := b.c.Serve(WithCaller(ctx, b.caller), b.l); err != nil {
				s.log.Error("connectors: a listener stopped", "connector", b.c.ID(), "addr", b.l.Addr().String(), "err", err)
				out.mu.Lock()
				out.errs = append(out.errs, fmt.Errorf("connectors: %s on %s: %w", b.c.ID(), b.l.Addr(), err))
				out.mu.Unlock()
			}
		})
	}
	return out, nil
}

// Addrs are the bound addresses, in the order configured.
func (l *Listeners) Addrs() []net.Addr { return l.addrs }

// Close stops every listener and waits until their connectors' Serve
// returned; it returns their errors. Closing again does nothing more.
func (l *Listeners) Close() error {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.errs...)
}

// ServeConns accepts connections on l and serves each with handle in a
// goroutine of its own, until ctx ends: then it closes l and every open
// connection, waits for every handle to return, and returns nil. It is
// the owner a ListenConnector's Serve delegates to, so that no connector
// repeats it. handle's ctx ends with ctx; handle need not close conn.
// An error of Accept other than the closing ends serving the same way and
// is returned.
func ServeConns(ctx context.Context, l net.Listener, handle func(ctx context.Context, conn net.Conn)) error {
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu     sync.Mutex
		conns  = map[net.Conn]struct{}{}
		closed bool
		wg     sync.WaitGroup
	)
	closing := make(chan struct{})
	// Runs once ctx ends, which the deferred cancel makes sure of.
	context.AfterFunc(ctx, func() {
		defer close(closing)
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		closed = true
		for c := range conns {
			c.Close()
		}
	})
	defer func() {
		cancel()
		<-closing
		wg.Wait()
	}()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		mu.Lock()
		if closed {
			mu.Unlock()
			conn.Close()
			return nil
		}
		conns[conn] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(conns, conn)
				mu.Unlock()
				conn.Close()
			}()
			handle(ctx, conn)
		})
	}
}
