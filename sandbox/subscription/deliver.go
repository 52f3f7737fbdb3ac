package subscription

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"hpsandbox/fhirstore"
)

// Notification is one match to deliver.
type Notification struct {
	Sandbox      fhirstore.Sandbox
	Subscription string
	// Endpoint, Content and Header are the subscription's channel.
	Endpoint string
	Content  string
	Header   http.Header
	// Resource is the version that matched; Base the sandbox's FHIR base.
	Resource *fhirstore.Resource
	Base     string
}

// Notifier delivers the notifications of one channel type. An error is a
// failed attempt, which the manager retries with back-off.
type Notifier interface {
	Notify(ctx context.Context, n *Notification) error
}

// deliverer delivers the notifications of one subscription, one at a time
// and in the order they were queued.
type deliverer struct {
	m      *Manager
	r      *running
	queue  chan *fhirstore.Resource
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// overflow is set once the queue overflowed (the subscription is
	// being switched off).
	mu       sync.Mutex
	overflow bool
}

func newDeliverer(m *Manager, r *running) *deliverer {
	ctx, cancel := context.WithCancel(m.ctx)
	d := &deliverer{m: m, r: r, queue: make(chan *fhirstore.Resource, m.cfg.QueueMax), ctx: ctx, cancel: cancel,
		done: make(chan struct{})}
	go d.run()
	return d
}

// enqueue adds a match; a full queue switches the subscription off.
func (d *deliverer) enqueue(res *fhirstore.Resource) {
	select {
	case d.queue <- res:
		return
	default:
	}
	d.mu.Lock()
	first := !d.overflow
	d.overflow = true
	d.mu.Unlock()
	if first {
		d.m.report(d.r, StatusOff, fmt.Sprintf("more than %d notifications waited for delivery; the subscription was switched off", d.m.cfg.QueueMax))
	}
}

func (d *deliverer) stop() {
	d.cancel()
	<-d.done
}

func (d *deliverer) run() {
	defer close(d.done)
	// A subscription taken over while its deliveries failed shows error
	// until one succeeds.
	failing := d.r.spec.status == StatusError
	for {
		var res *fhirstore.Resource
		select {
		case <-d.ctx.Done():
			return
		case res = <-d.queue:
		}
		s := d.r.spec
		n := &Notification{Sandbox: s.sandbox, Subscription: s.id, Endpoint: s.endpoint, Content: s.content,
			Header: s.headers, Resource: res, Base: d.m.cfg.Base(s.sandbox)}
		notifier := d.m.notifiers[s.channel]
		wait := d.m.cfg.RetryBase
		for attempt := 1; ; attempt++ {
			err := d.attempt(notifier, n)
			if err == nil {
				if failing {
					failing = false
					d.m.report(d.r, StatusActive, "")
				}
				break
			}
			if d.ctx.Err() != nil {
				return
			}
			if attempt >= d.m.cfg.MaxAttempts {
				d.m.report(d.r, StatusOff, fmt.Sprintf("delivery failed %d times, the last: %v; the subscription was switched off", attempt, err))
				return
			}
			if !failing {
				failing = true
				d.m.report(d.r, StatusError, fmt.Sprintf("delivery failed: %v; retrying", err))
			}
			select {
			case <-d.ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, d.m.cfg.RetryMax)
		}
	}
}

func (d *deliverer) attempt(notifier Notifier, n *Notification) error {
	ctx, cancel := context.WithTimeout(d.ctx, d.m.cfg.Timeout)
	defer cancel()
	return notifier.Notify(ctx, n)
}

// restHook delivers over HTTP to the subscription's endpoint.
type restHook struct{ client *http.Client }

func newRestHook(cfg Config) *restHook {
	return &restHook{client: cfg.Endpoints.client(cfg.Timeout)}
}

// Notify implements Notifier.
func (h *restHook) Notify(ctx context.Context, n *Notification) error {
	method, target, body := http.MethodPost, n.Endpoint, []byte(nil)
	if n.Content == ContentFullResource {
		method = http.MethodPut
		target = strings.TrimRight(n.Endpoint, "/") + "/" + n.Resource.Type + "/" + n.Resource.ID
		body = n.Resource.Body
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range n.Header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "HP Sandbox subscriptions")
	switch n.Content {
	case ContentFullResource:
		req.Header.Set("Content-Type", "application/fhir+json")
	case ContentIDOnly:
		req.Header.Set("Content-Location", fmt.Sprintf("%s/%s/%s/_history/%d", n.Base, n.Resource.Type, n.Resource.ID, n.Resource.Version))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the endpoint answered %s", resp.Status)
	}
	return nil
}
