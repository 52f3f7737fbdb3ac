package subscription

import (
	"context"
	"net/url"
	"sync"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

// Leases are the owner leases of the subscriptions of gateways sharing a
// store (Config.Shared): a key, one per subscription, held by one gateway
// for a time. Each Leases value holds leases for one owner, the manager
// using it. Every method works on many keys in one round trip; a key's
// result is at the same index.
type Leases interface {
	// Claim takes the leases of keys for ttl: those no one holds (or this
	// owner holds already), or every one with take (the owner changes at
	// once); ok says which it holds now.
	Claim(ctx context.Context, keys []string, ttl time.Duration, take bool) (ok []bool, err error)
	// Renew extends for ttl the leases of keys this owner still holds; ok
	// is false for a key held by another owner or by no one.
	Renew(ctx context.Context, keys []string, ttl time.Duration) (ok []bool, err error)
	// Release gives up the leases of keys this owner holds; those held by
	// another owner stay.
	Release(ctx context.Context, keys []string) error
}

// leaseKey names the lease of a subscription; sandbox ids hold no '/'.
func leaseKey(sandbox fhirstore.Sandbox, id string) string {
	return string(sandbox) + "/" + id
}

// lease is one this manager holds, or means to hold (held false: Redis did
// not answer when it was taken; the renewal claims it when it answers).
type lease struct {
	sandbox fhirstore.Sandbox
	id      string
	gen     uint64
	held    bool
}

// leasing is the lease state of a manager: written by the loop, read by
// the renewal and the sweep.
type leasing struct {
	mu  sync.Mutex
	gen uint64
	own map[string]*lease
	// refused remembers subscriptions claimed and found unfit to run
	// (refused, or waiting for their writer), by key, at the version
	// judged: the sweep passes over them until they change.
	refused map[string]int64
}

// claimed is a subscription the sweep won the lease of.
type claimed struct {
	sandbox fhirstore.Sandbox
	id      string
}

// lost is a lease the renewal found taken by another owner, or gone.
type lost struct {
	key string
	gen uint64
}

func (m *Manager) leased() bool { return m.cfg.Shared && m.cfg.Leases != nil }

func (m *Manager) leaseCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(m.ctx), m.cfg.Timeout)
}

// hold records the lease of a subscription about to run here, taking it
// from whoever holds it when take is set (a client wrote the subscription
// through this gateway); with take unset, the sweep has already claimed it.
func (m *Manager) hold(sandbox fhirstore.Sandbox, id string, take bool) {
	key := leaseKey(sandbox, id)
	held := true
	if take {
		ctx, cancel := m.leaseCtx()
		ok, err := m.cfg.Leases.Claim(ctx, []string{key}, m.cfg.LeaseTTL, true)
		cancel()
		if err != nil {
			m.cfg.Logger.Error("subscription: taking the lease failed; running it, and claiming it when Redis answers",
				"sandbox", sandbox, "subscription", id, "err", err)
		}
		held = err == nil && len(ok) == 1 && ok[0]
	}
	l := &m.leases
	l.mu.Lock()
	l.gen++
	l.own[key] = &lease{sandbox: sandbox, id: id, gen: l.gen, held: held}
	delete(l.refused, key)
	l.mu.Unlock()
}

// disown forgets the lease of a subscription that stopped here, releasing
// it when release is set.
func (m *Manager) disown(sandbox fhirstore.Sandbox, id string, release bool) {
	key := leaseKey(sandbox, id)
	l := &m.leases
	l.mu.Lock()
	le := l.own[key]
	delete(l.own, key)
	l.mu.Unlock()
	if le == nil || !release {
		return
	}
	ctx, cancel := m.leaseCtx()
	defer cancel()
	if err := m.cfg.Leases.Release(ctx, []string{key}); err != nil {
		m.cfg.Logger.Warn("subscription: releasing the lease failed; it runs out by itself",
			"sandbox", sandbox, "subscription", id, "err", err)
	}
}

// seize takes the lease of a subscription a client wrote through this
// gateway and that does not run here now, then lets it go: whoever ran
// the version before stops at its next renewal, even when the relayed
// commit never reaches it.
func (m *Manager) seize(sandbox fhirstore.Sandbox, id string) {
	key := leaseKey(sandbox, id)
	ctx, cancel := m.leaseCtx()
	defer cancel()
	if _, err := m.cfg.Leases.Claim(ctx, []string{key}, m.cfg.LeaseTTL, true); err != nil {
		m.cfg.Logger.Warn("subscription: taking the lease of a stopped subscription failed",
			"sandbox", sandbox, "subscription", id, "err", err)
		return
	}
	if err := m.cfg.Leases.Release(ctx, []string{key}); err != nil {
		m.cfg.Logger.Warn("subscription: releasing the lease failed; it runs out by itself",
			"sandbox", sandbox, "subscription", id, "err", err)
	}
}

// releaseAll gives up every lease this manager holds (at Close).
func (m *Manager) releaseAll() {
	l := &m.leases
	l.mu.Lock()
	var keys []string
	for k, le := range l.own {
		if le.held {
			keys = append(keys, k)
		}
	}
	clear(l.own)
	l.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	ctx, cancel := m.leaseCtx()
	defer cancel()
	if err := m.cfg.Leases.Release(ctx, keys); err != nil {
		m.cfg.Logger.Warn("subscription: releasing the leases failed; they run out by themselves", "leases", len(keys), "err", err)
	}
}

// renewals extends this manager's leases every LeaseTTL/3, and claims
// those it could not take when Redis did not answer; a lease found held
// by another owner (or by no one, which another may claim) stops its
// subscription here. When Redis does not answer, what runs here keeps
// running.
func (m *Manager) renewals() { m.every(m.cfg.LeaseTTL/3, m.renew) }

func (m *Manager) renew() {
	l := &m.leases
	l.mu.Lock()
	var held, pending []*lease
	var heldKeys, pendingKeys []string
	for k, le := range l.own {
		if le.held {
			held, heldKeys = append(held, le), append(heldKeys, k)
		} else {
			pending, pendingKeys = append(pending, le), append(pendingKeys, k)
		}
	}
	l.mu.Unlock()
	ctx, cancel := m.leaseCtx()
	defer cancel()
	if len(held) > 0 {
		ok, err := m.cfg.Leases.Renew(ctx, heldKeys, m.cfg.LeaseTTL)
		if err != nil {
			m.cfg.Logger.Error("subscription: renewing the leases failed; running them on", "leases", len(held), "err", err)
		} else {
			for i, le := range held {
				if !ok[i] {
					m.push(event{lost: &lost{key: heldKeys[i], gen: le.gen}})
				}
			}
		}
	}
	if len(pending) > 0 {
		ok, err := m.cfg.Leases.Claim(ctx, pendingKeys, m.cfg.LeaseTTL, false)
		if err != nil {
			m.cfg.Logger.Error("subscription: claiming the leases failed; running them on", "leases", len(pending), "err", err)
			return
		}
		l.mu.Lock()
		for i, le := range pending {
			if ok[i] {
				le.held = true
			}
		}
		l.mu.Unlock()
		for i, le := range pending {
			if !ok[i] {
				m.push(event{lost: &lost{key: pendingKeys[i], gen: le.gen}})
			}
		}
	}
}

// loseLease stops the subscription whose lease another owner holds now,
// unless this manager took it again since.
func (m *Manager) loseLease(lo *lost) {
	l := &m.leases
	l.mu.Lock()
	le := l.own[lo.key]
	current := le != nil && le.gen == lo.gen
	l.mu.Unlock()
	if !current {
		return
	}
	m.cfg.Logger.Info("subscription: another gateway runs it now", "sandbox", le.sandbox, "subscription", le.id)
	m.stop(le.sandbox, le.id, false)
}

// sweeps claims, every Config.Sweep, the active subscriptions of the
// store that no gateway holds the lease of, and hands them to the loop.
func (m *Manager) sweeps() { m.every(m.cfg.Sweep, m.sweep) }

// every runs do every d until the manager closes; it is one of the
// manager's workers.
func (m *Manager) every(d time.Duration, do func()) {
	defer m.workers.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		do()
	}
}

// sweepQuery finds the subscriptions that run on some gateway: active,
// and error (a delivery failing, retried); and those requested, which the
// gateway they were written through judges at once, unless it stopped
// first.
var sweepQuery = url.Values{"status": {StatusActive + "," + StatusError + "," + StatusRequested}}

// sweep looks through every sandbox once: one search per sandbox, and one
// Claim of the subscriptions not run here.
func (m *Manager) sweep() {
	ctx, cancel := context.WithTimeout(search.Unconfined(m.ctx), 4*m.cfg.Timeout)
	defer cancel()
	sandboxes, err := m.cfg.Sandboxes(ctx)
	if err != nil {
		m.cfg.Logger.Error("subscription: listing the sandboxes to sweep", "err", err)
		return
	}
	var found []claimed
	var keys []string
	for _, sb := range sandboxes {
		for cursor := ""; ; {
			q, err := search.Parse("Subscription", sweepQuery, search.Options{DefaultCount: sweepPage})
			if err != nil {
				m.cfg.Logger.Error("subscription: sweep query", "err", err)
				return
			}
			q.Total = search.TotalNone
			q.Cursor = cursor
			page, err := m.store.Search(ctx, sb, fhirstore.SearchQuery{Type: "Subscription", Query: q})
			if err != nil {
				if m.ctx.Err() == nil {
					m.cfg.Logger.Error("subscription: sweeping a sandbox's subscriptions", "sandbox", sb, "err", err)
				}
				break
			}
			l := &m.leases
			l.mu.Lock()
			for _, res := range page.Matches {
				key := leaseKey(sb, res.ID)
				if v, ok := l.refused[key]; l.own[key] != nil || ok && v == res.Version || m.fresh(res) {
					continue
				}
				found, keys = append(found, claimed{sandbox: sb, id: res.ID}), append(keys, key)
			}
			l.mu.Unlock()
			if cursor = page.Next; cursor == "" || len(page.Matches) == 0 {
				break
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	ok, err := m.cfg.Leases.Claim(ctx, keys, m.cfg.LeaseTTL, false)
	if err != nil {
		m.cfg.Logger.Error("subscription: claiming subscriptions without a gateway failed", "err", err)
		return
	}
	for i, c := range found {
		if ok[i] {
			c := c
			m.push(event{claimed: &c})
		}
	}
}

// sweepPage is the page size of the sweep's searches.
const sweepPage = 500

// fresh reports whether a version of a Subscription is younger than the
// lease TTL. Such a version is left to the gateway it was written
// through: a client may write status active itself, and that gateway
// judges the write under its writer's confinement and takes the lease;
// taken over before, it would run as stored, unconfined.
func (m *Manager) fresh(res *fhirstore.Resource) bool {
	return time.Since(res.LastUpdated) < m.cfg.LeaseTTL
}

// takeOver starts a subscription whose lease the sweep won, under the
// same rules as one resumed at start (load): from what is stored, with no
// confinement, so one made under a confined token is switched off, and
// one still requested is written error, asking to be written again.
func (m *Manager) takeOver(c *claimed) {
	key := leaseKey(c.sandbox, c.id)
	if m.subs[c.sandbox][c.id] != nil {
		// Runs here already (taken by a client's write meanwhile).
		return
	}
	ctx, cancel := context.WithTimeout(search.Unconfined(m.ctx), m.cfg.Timeout)
	res, err := m.store.Read(ctx, c.sandbox, "Subscription", c.id)
	cancel()
	if err != nil {
		m.release(key)
		return // deleted since
	}
	if s, _ := parse(c.sandbox, res); s == nil || s.status == StatusOff || m.fresh(res) {
		// Switched off since, or written again and left to the gateway
		// it was written through, which judges it.
		m.release(key)
		return
	}
	// A version requested longer than the TTL ago was not judged: its
	// gateway stopped first. resume writes it error, as after a restart.
	m.hold(c.sandbox, c.id, false)
	m.resume(c.sandbox, res)
	if m.subs[c.sandbox][c.id] != nil {
		m.cfg.Logger.Info("subscription: taken over from a gateway that no longer runs it", "sandbox", c.sandbox, "subscription", c.id)
		return
	}
	// Not fit to run: judged (its status written), passed over by the
	// next sweeps until it changes.
	m.disown(c.sandbox, c.id, true)
	if cur, err := m.store.Read(search.Unconfined(m.ctx), c.sandbox, "Subscription", c.id); err == nil {
		l := &m.leases
		l.mu.Lock()
		l.refused[key] = cur.Version
		l.mu.Unlock()
	}
}

func (m *Manager) release(key string) {
	ctx, cancel := m.leaseCtx()
	defer cancel()
	if err := m.cfg.Leases.Release(ctx, []string{key}); err != nil {
		m.cfg.Logger.Warn("subscription: releasing the lease failed; it runs out by itself", "lease", key, "err", err)
	}
}
