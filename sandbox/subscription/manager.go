package subscription

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

// Config configures a Manager; zero fields take the defaults named.
type Config struct {
	// Endpoints is the rest-hook endpoint policy (see EndpointPolicy).
	Endpoints EndpointPolicy
	// Base returns the FHIR base URL of a sandbox, for criteria that name
	// references by absolute URL and for id-only payloads.
	Base func(fhirstore.Sandbox) string
	// RetryBase is the wait before the first retry of a delivery (500ms);
	// each further retry waits twice as long, up to RetryMax (1 min).
	RetryBase, RetryMax time.Duration
	// MaxAttempts is how often one notification is tried before the
	// subscription is switched off (6).
	MaxAttempts int
	// Timeout bounds one delivery attempt (10s).
	Timeout time.Duration
	// QueueMax bounds the notifications waiting for one subscription
	// (1000); past it the subscription is switched off.
	QueueMax int
	// Logger logs failures; slog.Default when nil.
	Logger *slog.Logger
	// Shared: several gateways share the store, each running the
	// subscriptions written through it (with its writer's confinement)
	// and taking the others' commits through Relayed. Subscriptions found
	// in the store are then not resumed, which would run them twice.
	Shared bool
	// Websocket, when set, delivers the websocket channel's notifications
	// instead of the hub: to the hubs of every gateway, one of which holds
	// the socket.
	Websocket Notifier
	// Leases, with Shared, runs every active subscription on exactly one
	// gateway (see the package doc): this manager takes the lease of each
	// subscription written through it, renews its leases every LeaseTTL/3,
	// and claims every Sweep the active subscriptions of the sandboxes
	// Sandboxes lists that no gateway holds the lease of (none when
	// Sandboxes is nil).
	Leases    Leases
	Sandboxes func(ctx context.Context) ([]fhirstore.Sandbox, error)
	// LeaseTTL is how long a lease lasts unrenewed (15s): how soon the
	// subscriptions of a gateway that died are taken over. Sweep is how
	// often unheld subscriptions are looked for (5s).
	LeaseTTL, Sweep time.Duration
}

func (c *Config) defaults() {
	if c.RetryBase <= 0 {
		c.RetryBase = 500 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 6
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.QueueMax <= 0 {
		c.QueueMax = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 15 * time.Second
	}
	if c.Sweep <= 0 {
		c.Sweep = 5 * time.Second
	}
	if c.Base == nil {
		c.Base = func(fhirstore.Sandbox) string { return "" }
	}
}

// Manager runs the subscriptions of every sandbox of a store. Feed it
// commits with Committed (a fhirstore.CommitObserver); Close stops it.
type Manager struct {
	store     fhirstore.Store
	cfg       Config
	notifiers map[string]Notifier

	mu     sync.Mutex
	queue  []event
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// leases and the goroutines that renew them and sweep for unheld
	// subscriptions (Config.Leases).
	leases  leasing
	workers sync.WaitGroup

	// Owned by the loop goroutine.
	loaded map[fhirstore.Sandbox]bool
	subs   map[fhirstore.Sandbox]map[string]*running
	own    map[versionKey]bool
}

type versionKey struct {
	sandbox fhirstore.Sandbox
	id      string
	version int64
}

// event is a commit, a status a deliverer asks to record, a sandbox
// to forget, a subscription the sweep claimed or one whose lease was lost.
type event struct {
	changes []fhirstore.Change
	relayed bool
	status  *statusChange
	forget  fhirstore.Sandbox
	claimed *claimed
	lost    *lost
}

type statusChange struct {
	run         *running
	status, msg string
}

// running is an active subscription.
type running struct {
	spec *spec
	conf *search.Confinement
	del  *deliverer
}

// New returns a Manager over store delivering through the rest-hook
// client its policy allows and through hub (websocket; nil serves none).
// It runs until Close.
func New(store fhirstore.Store, hub *Hub, cfg Config) *Manager {
	cfg.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{store: store, cfg: cfg, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), loaded: map[fhirstore.Sandbox]bool{},
		subs: map[fhirstore.Sandbox]map[string]*running{}, own: map[versionKey]bool{},
		notifiers: map[string]Notifier{RestHook: newRestHook(cfg)},
		leases:    leasing{own: map[string]*lease{}, refused: map[string]int64{}}}
	if hub != nil {
		m.notifiers[Websocket] = hub
	}
	if cfg.Websocket != nil {
		m.notifiers[Websocket] = cfg.Websocket
	}
	go m.loop()
	if m.leased() {
		m.workers.Add(1)
		go m.renewals()
		if cfg.Sandboxes != nil {
			m.workers.Add(1)
			go m.sweeps()
		}
	}
	return m
}

// Committed takes the changes of a commit; it implements
// fhirstore.CommitObserver and returns at once.
func (m *Manager) Committed(changes []fhirstore.Change) {
	m.push(event{changes: changes})
}

// Relayed takes the changes another gateway committed (Config.Shared):
// they notify the subscriptions this manager runs, but a Subscription
// written there is run there, and stops here.
func (m *Manager) Relayed(changes []fhirstore.Change) {
	m.push(event{changes: changes, relayed: true})
}

func (m *Manager) push(e event) {
	m.mu.Lock()
	m.queue = append(m.queue, e)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Forget stops the subscriptions of a sandbox that was erased: its rows
// went without commits, and a sandbox made again under its id must not
// inherit them.
func (m *Manager) Forget(sandbox fhirstore.Sandbox) {
	m.push(event{forget: sandbox})
}

// Close stops the manager and its deliveries, and releases its leases;
// notifications not yet delivered are dropped.
func (m *Manager) Close() error {
	m.cancel()
	<-m.done
	m.workers.Wait()
	if m.leased() {
		m.releaseAll()
	}
	return nil
}

func (m *Manager) loop() {
	defer close(m.done)
	defer func() {
		for _, subs := range m.subs {
			for _, r := range subs {
				r.del.stop()
			}
		}
	}()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.wake:
		}
		for {
			m.mu.Lock()
			batch := m.queue
			m.queue = nil
			m.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, e := range batch {
				if m.ctx.Err() != nil {
					return
				}
				if e.status != nil {
					m.recordStatus(e.status)
					continue
				}
				if e.claimed != nil {
					m.takeOver(e.claimed)
					continue
				}
				if e.lost != nil {
					m.loseLease(e.lost)
					continue
				}
				if e.forget != "" {
					for id := range m.subs[e.forget] {
						m.stop(e.forget, id, true)
					}
					delete(m.subs, e.forget)
					delete(m.loaded, e.forget)
					continue
				}
				m.commit(e.changes, e.relayed)
			}
		}
	}
}

// commit handles the changes of one commit in order.
func (m *Manager) commit(changes []fhirstore.Change, relayed bool) {
	for _, c := range changes {
		if !m.loaded[c.Sandbox] && !m.cfg.Shared {
			m.load(c.Sandbox, changes)
		}
		if c.Resource.Type == "Subscription" && relayed {
			// Written through another gateway, which runs it now (and
			// took its lease); a version older than the one run here
			// arrived late.
			if r := m.subs[c.Sandbox][c.Resource.ID]; r != nil && c.Resource.Version > r.spec.version {
				m.stop(c.Sandbox, c.Resource.ID, false)
			}
			continue
		}
		if c.Resource.Type == "Subscription" {
			m.subscriptionChanged(c)
			continue
		}
		if c.Resource.Deleted() {
			continue
		}
		for _, r := range m.subs[c.Sandbox] {
			if r.spec.typ != c.Resource.Type {
				continue
			}
			ok, err := m.matches(r, c)
			if err != nil {
				m.cfg.Logger.Warn("subscription: matching failed", "sandbox", c.Sandbox, "subscription", r.spec.id, "err", err)
				continue
			}
			if ok {
				r.del.enqueue(c.Resource)
			}
		}
	}
}

// matches runs r's criteria, restricted to the written resource's id, as a
// search under r's confinement.
func (m *Manager) matches(r *running, c fhirstore.Change) (bool, error) {
	params := url.Values{}
	for k, v := range r.spec.params {
		params[k] = v
	}
	params.Add("_id", c.Resource.ID)
	q, err := search.Parse(r.spec.typ, params, search.Options{Base: m.cfg.Base(c.Sandbox), DefaultCount: 1})
	if err != nil {
		return false, err
	}
	q.Total = search.TotalNone
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Timeout)
	defer cancel()
	ctx = search.ConfineTo(search.Unconfined(ctx), r.conf)
	page, err := m.store.Search(ctx, c.Sandbox, fhirstore.SearchQuery{Type: r.spec.typ, Query: q})
	if err != nil {
		return false, err
	}
	return len(page.Matches) > 0, nil
}

// subscriptionChanged starts, restarts or stops a subscription a client
// wrote; the manager's own status writes are passed over.
func (m *Manager) subscriptionChanged(c fhirstore.Change) {
	key := versionKey{c.Sandbox, c.Resource.ID, c.Resource.Version}
	if m.own[key] {
		delete(m.own, key)
		return
	}
	// Written through this gateway: it runs here from now on, or
	// nowhere, whoever ran it before.
	m.stop(c.Sandbox, c.Resource.ID, false)
	s, err := (*spec)(nil), error(nil)
	if !c.Resource.Deleted() {
		s, err = parse(c.Sandbox, c.Resource)
		if s == nil {
			m.cfg.Logger.Warn("subscription: unreadable Subscription", "sandbox", c.Sandbox, "id", c.Resource.ID, "err", err)
		}
	}
	if s == nil || s.status == StatusOff {
		if m.leased() {
			m.seize(c.Sandbox, c.Resource.ID)
		}
		return
	}
	if err == nil && s.typ == "Subscription" {
		err = refuse("a subscription cannot follow Subscription resources")
	}
	if err == nil && s.channel == RestHook {
		err = m.cfg.Endpoints.Check(s.endpoint)
	}
	if err == nil && m.notifiers[s.channel] == nil {
		err = refuse("channel %s is not served by this server", s.channel)
	}
	// What the writer may read: as its door declared it, else the
	// confinement its write ran under.
	conf := c.Confinement
	if c.Writer != nil {
		conf = c.Writer.Confinement
	}
	if err == nil && conf.Excludes(s.typ) {
		err = refuse("the token that wrote this subscription may not read %s", s.typ)
	}
	r := &running{spec: s, conf: conf}
	if err != nil {
		if m.leased() {
			m.seize(c.Sandbox, c.Resource.ID)
		}
		m.write(r, StatusError, err.Error())
		return
	}
	if m.leased() {
		m.hold(c.Sandbox, c.Resource.ID, true)
	}
	m.start(r)
	m.write(r, StatusActive, "")
}

// load resumes the subscriptions a sandbox held before this process
// started, except those the batch being handled writes.
func (m *Manager) load(sandbox fhirstore.Sandbox, batch []fhirstore.Change) {
	m.loaded[sandbox] = true
	skip := map[string]bool{}
	for _, c := range batch {
		if c.Sandbox == sandbox && c.Resource.Type == "Subscription" {
			skip[c.Resource.ID] = true
		}
	}
	for offset := 0; ; {
		page, err := m.store.Search(m.ctx, sandbox, fhirstore.SearchQuery{Type: "Subscription", Count: 500, Offset: offset})
		if err != nil {
			m.cfg.Logger.Error("subscription: loading a sandbox's subscriptions", "sandbox", sandbox, "err", err)
			return
		}
		for _, res := range page.Matches {
			if !skip[res.ID] {
				m.resume(sandbox, res)
			}
		}
		offset += len(page.Matches)
		if len(page.Matches) == 0 || page.Next == "" && len(page.Matches) < 500 {
			return
		}
	}
}

// resume restarts a subscription found in the store.
func (m *Manager) resume(sandbox fhirstore.Sandbox, res *fhirstore.Resource) {
	s, err := parse(sandbox, res)
	if s == nil || s.status == StatusOff {
		return
	}
	r := &running{spec: s}
	switch {
	case s.status == StatusRequested:
		m.write(r, StatusError, "the server restarted before it took up this subscription; write it again (status requested)")
	case s.confined:
		m.write(r, StatusOff, "the server restarted and does not keep what the token that made this subscription could see; write it again (status requested)")
	case err != nil:
		// Judged when it was made; the rules changed since.
		m.write(r, StatusError, err.Error())
	case s.channel == RestHook && m.cfg.Endpoints.Check(s.endpoint) != nil:
		m.write(r, StatusError, m.cfg.Endpoints.Check(s.endpoint).Error())
	case m.notifiers[s.channel] == nil:
	default:
		m.start(r)
	}
}

func (m *Manager) start(r *running) {
	if m.subs[r.spec.sandbox] == nil {
		m.subs[r.spec.sandbox] = map[string]*running{}
	}
	r.del = newDeliverer(m, r)
	m.subs[r.spec.sandbox][r.spec.id] = r
}

// stop stops a subscription running here and forgets its lease,
// releasing it when release is set (none runs it then until a sweep
// claims it, if it is still active).
func (m *Manager) stop(sandbox fhirstore.Sandbox, id string, release bool) {
	if r := m.subs[sandbox][id]; r != nil {
		r.del.stop()
		delete(m.subs[sandbox], id)
	}
	if m.leased() {
		m.disown(sandbox, id, release)
	}
}

// recordStatus records a status a deliverer reports, if its subscription
// still runs; off stops it.
func (m *Manager) recordStatus(sc *statusChange) {
	r := sc.run
	if m.subs[r.spec.sandbox][r.spec.id] != r {
		return // replaced or stopped since
	}
	// Written off before the lease goes, so that no sweep claims it
	// still active.
	m.write(r, sc.status, sc.msg)
	if sc.status == StatusOff {
		m.stop(r.spec.sandbox, r.spec.id, true)
	}
}

// write records status and error on the stored Subscription, unless a
// client wrote it since.
func (m *Manager) write(r *running, status, msg string) {
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Timeout)
	defer cancel()
	ctx = search.Unconfined(ctx)
	cur, err := m.store.Read(ctx, r.spec.sandbox, "Subscription", r.spec.id)
	if err != nil {
		return // deleted since
	}
	res, err := withStatus(cur.Body, status, msg, r.conf != nil)
	if err != nil {
		m.cfg.Logger.Error("subscription: recording status", "sandbox", r.spec.sandbox, "id", r.spec.id, "err", err)
		return
	}
	if res == nil {
		return // already so
	}
	out, _, err := m.store.Update(ctx, r.spec.sandbox, res, fhirstore.UpdateOptions{IfMatch: cur.Version})
	if errors.Is(err, fhirstore.ErrVersionConflict) {
		return // the client's newer version rules
	}
	if err != nil {
		m.cfg.Logger.Error("subscription: recording status", "sandbox", r.spec.sandbox, "id", r.spec.id, "err", err)
		return
	}
	m.own[versionKey{r.spec.sandbox, r.spec.id, out.Version}] = true
	r.spec.version = out.Version
}

// report asks the loop to record a status of r (from a deliverer).
func (m *Manager) report(r *running, status, msg string) {
	m.push(event{status: &statusChange{run: r, status: status, msg: msg}})
}
