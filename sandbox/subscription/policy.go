package subscription

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// EndpointPolicy says which rest-hook endpoints a subscription may name;
// see the package doc. The zero value refuses every endpoint.
type EndpointPolicy struct {
	// AllowHosts are the host names (exact, or "*.example.org" for any
	// name below example.org) an https endpoint may name.
	AllowHosts []string
	// AllowLoopback lets an endpoint name a loopback address (127.0.0.0/8,
	// ::1, localhost), over http or https: tests and local development.
	AllowLoopback bool
	// AllowPrivate lets a listed host resolve to a private address
	// (RFC 1918, fc00::/7): an operator's own network.
	AllowPrivate bool
}

// errEndpoint marks an endpoint the policy refuses.
var errEndpoint = errors.New("endpoint refused")

// Check judges a rest-hook endpoint as written in a Subscription.
func (p EndpointPolicy) Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute http(s) URL", errEndpoint, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%w: an endpoint may not carry credentials in its URL; use channel.header", errEndpoint)
	}
	if u.Fragment != "" {
		return fmt.Errorf("%w: an endpoint has no fragment", errEndpoint)
	}
	host := strings.ToLower(u.Hostname())
	if isLoopbackName(host) {
		if !p.AllowLoopback || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("%w: loopback endpoints are not allowed on this server", errEndpoint)
		}
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%w: endpoints must use https", errEndpoint)
	}
	if !p.listed(host) {
		return fmt.Errorf("%w: host %s is not on this server's list of rest-hook hosts", errEndpoint, host)
	}
	return nil
}

func (p EndpointPolicy) listed(host string) bool {
	for _, h := range p.AllowHosts {
		h = strings.ToLower(h)
		if suffix, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if host == h {
			return true
		}
	}
	return false
}

func isLoopbackName(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// allowAddr judges an address the dialer is about to connect to.
func (p EndpointPolicy) allowAddr(a netip.Addr) error {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		if p.AllowLoopback {
			return nil
		}
	case a.IsPrivate():
		if p.AllowPrivate {
			return nil
		}
	case a.IsUnspecified(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsMulticast(),
		a.IsInterfaceLocalMulticast():
	default:
		return nil
	}
	return fmt.Errorf("%w: address %s is not reachable for notifications", errEndpoint, a)
}

// client returns the HTTP client deliveries use: its dialer checks each
// address it connects to, and it follows no redirect.
func (p EndpointPolicy) client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %v", errEndpoint, err)
		}
		return p.allowAddr(ap.Addr())
	}}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, past the check
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// dialContext is here for tests that dial through the policy.
func (p EndpointPolicy) dialContext(ctx context.Context, address string) (net.Conn, error) {
	return p.client(time.Second).Transport.(*http.Transport).DialContext(ctx, "tcp", address)
}
