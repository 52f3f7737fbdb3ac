package subscription

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/peers"
	"hpsandbox/smart/redisstate/redistest"
)

// Lease timings of the tests: short, with room for a loaded machine.
const (
	testTTL   = time.Second
	testSweep = 100 * time.Millisecond
)

// gateways is a deployment of gateways in one test: each has its own
// handle on one SQLite database (so its commits are its own) and its own
// manager, the managers share leases in one Redis, and each gateway's
// commits are relayed to the others as the peers bus does (read back,
// without what they carry of their writer).
type gateways struct {
	t   *testing.T
	dir string
	rdb *redis.Client

	mu sync.Mutex
	gw []*gateway
}

type gateway struct {
	*env
	name   string
	leases *killable
	closed bool
}

// killable leases die with their gateway: once dead, Release does nothing,
// as when the process is killed; while down, every call fails as when
// Redis does not answer.
type killable struct {
	Leases
	dead, down atomic.Bool
}

var errDown = errors.New("redis: connection refused")

func (k *killable) Claim(ctx context.Context, keys []string, ttl time.Duration, take bool) ([]bool, error) {
	if k.down.Load() {
		return nil, errDown
	}
	return k.Leases.Claim(ctx, keys, ttl, take)
}

func (k *killable) Renew(ctx context.Context, keys []string, ttl time.Duration) ([]bool, error) {
	if k.down.Load() {
		return nil, errDown
	}
	return k.Leases.Renew(ctx, keys, ttl)
}

func (k *killable) Release(ctx context.Context, keys []string) error {
	if k.dead.Load() {
		return nil
	}
	if k.down.Load() {
		return errDown
	}
	return k.Leases.Release(ctx, keys)
}

func newGateways(t *testing.T) *gateways {
	url := redistest.Start(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return &gateways{t: t, dir: t.TempDir(), rdb: rdb}
}

// start opens a gateway named name (a new owner each time: a restarted
// process) on the shared store and Redis.
func (d *gateways) start(name string) *gateway {
	d.t.Helper()
	st, err := sqlite.Open(context.Background(), d.dir, sqlstore.Options{})
	if err != nil {
		d.t.Fatal(err)
	}
	owner := name + "-" + time.Now().Format("150405.000000000")
	g := &gateway{env: &env{t: d.t, store: st}, name: name,
		leases: &killable{Leases: peers.NewLeases(d.rdb, "test:lease:", owner)}}
	cfg := fastConfig()
	cfg.Shared, cfg.Leases, cfg.LeaseTTL, cfg.Sweep = true, g.leases, testTTL, testSweep
	cfg.Sandboxes = func(context.Context) ([]fhirstore.Sandbox, error) {
		return []fhirstore.Sandbox{"sb", "x", "y"}, nil
	}
	g.m = New(st, nil, cfg)
	stopLocal := st.ObserveCommits(g.m.Committed)
	stopRelay := st.ObserveCommits(func(changes []fhirstore.Change) { d.relay(g, changes) })
	d.mu.Lock()
	d.gw = append(d.gw, g)
	d.mu.Unlock()
	d.t.Cleanup(func() {
		stopRelay()
		stopLocal()
		g.m.Close()
		st.Close()
	})
	return g
}

// relay hands a gateway's commits to every other gateway still running.
func (d *gateways) relay(from *gateway, changes []fhirstore.Change) {
	out := make([]fhirstore.Change, len(changes))
	for i, c := range changes {
		out[i] = fhirstore.Change{Sandbox: c.Sandbox, Resource: c.Resource}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, g := range d.gw {
		if g != from && !g.closed {
			g.m.Relayed(out)
		}
	}
}

// stop closes a gateway's manager: it releases its leases, or, killed,
// leaves them to run out.
func (d *gateways) stop(g *gateway, killed bool) {
	g.leases.dead.Store(killed)
	d.mu.Lock()
	g.closed = true
	d.mu.Unlock()
	g.m.Close()
}

// owner is the owner of the lease of a subscription ("" when none).
func (d *gateways) owner(sandbox, id string) string {
	v, err := d.rdb.Get(context.Background(), "test:lease:"+sandbox+"/"+id).Result()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	if err != nil {
		d.t.Fatal(err)
	}
	return v
}

// waitOwner waits until the lease of a subscription is held by g (nil:
// by no one) and returns how long that took.
func (d *gateways) waitOwner(sandbox, id string, g *gateway, within time.Duration) time.Duration {
	d.t.Helper()
	want := ""
	if g != nil {
		want = g.leases.Leases.(*peers.Leases).Owner()
	}
	start := time.Now()
	for {
		got := d.owner(sandbox, id)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			d.t.Fatalf("lease of %s/Subscription/%s held by %q after %v, want %q", sandbox, id, got, within, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// once asserts one notification arrives, and no second.
func once(t *testing.T, rcv *receiver) {
	t.Helper()
	rcv.next(t)
	rcv.none(t, 4*testSweep)
}

// A rest-hook subscription written through A is run by A alone: each
// matching commit, written through A or through B, is notified exactly
// once, and B's sweeps leave it to A.
func TestLeases_OneGatewayRunsEachSubscription(t *testing.T) {
	ctx := context.Background()
	d := newGateways(t)
	a, b := d.start("a"), d.start("b")
	rcv := newReceiver(t, 0)
	id := a.subscribe(ctx, "sb", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	a.waitStatus("sb", id, StatusActive)
	d.waitOwner("sb", id, a, time.Second)

	for i := range 3 {
		a.observation(ctx, "sb", "", "p1", "vital-signs", float64(i))
		once(t, rcv)
		b.observation(ctx, "sb", "", "p1", "vital-signs", float64(i))
		once(t, rcv)
	}
	// Several sweeps and renewals later A still holds it.
	time.Sleep(testTTL)
	d.waitOwner("sb", id, a, 0)
	b.observation(ctx, "sb", "", "p1", "vital-signs", 9)
	once(t, rcv)
}

// A gateway that stops releases its leases: another claims them within
// a sweep and notifies the next commit, once; the gateway started again
// leaves the subscription to the one that holds it.
func TestLeases_ReleasedSubscriptionTakenOverWithinASweep(t *testing.T) {
	ctx := context.Background()
	d := newGateways(t)
	a, b := d.start("a"), d.start("b")
	rcv := newReceiver(t, 0)
	id := a.subscribe(ctx, "sb", "Observation?category=vital-signs", hookChannel(rcv.URL, map[string]any{"payload": "application/fhir+json"}))
	a.waitStatus("sb", id, StatusActive)
	d.waitOwner("sb", id, a, time.Second)
	// A version younger than the TTL is left to the gateway it was
	// written through.
	time.Sleep(testTTL)

	d.stop(a, false)
	took := d.waitOwner("sb", id, b, 10*testSweep)
	t.Logf("taken over %v after the release (sweep every %v)", took, testSweep)
	obs := b.observation(ctx, "sb", "", "p1", "vital-signs", 1)
	if got := rcv.next(t); got.Method != "PUT" || got.Path != "/Observation/"+obs.ID {
		t.Errorf("after the takeover: %s %s", got.Method, got.Path)
	}
	rcv.none(t, 4*testSweep)
	if st := b.state("sb", id); st.Status != StatusActive {
		t.Errorf("status after the takeover %q (%s)", st.Status, st.Error)
	}

	// A starts again: B keeps it, and a commit through A is notified once.
	a2 := d.start("a")
	time.Sleep(4 * testSweep)
	d.waitOwner("sb", id, b, 0)
	a2.observation(ctx, "sb", "", "p1", "vital-signs", 2)
	once(t, rcv)
}

// A gateway killed without releasing: its leases run out after the TTL,
// not before, and another gateway takes over.
func TestLeases_KilledGatewaysSubscriptionTakenOverAfterTTL(t *testing.T) {
	ctx := context.Background()
	d := newGateways(t)
	a, b := d.start("a"), d.start("b")
	rcv := newReceiver(t, 0)
	id := a.subscribe(ctx, "sb", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	a.waitStatus("sb", id, StatusActive)
	d.waitOwner("sb", id, a, time.Second)

	d.stop(a, true)
	killed := time.Now()
	d.waitOwner("sb", id, b, 3*testTTL)
	if waited := time.Since(killed); waited < testTTL/2 {
		// The lease was renewed at most TTL/3 before the kill.
		t.Errorf("taken over %v after the kill, before the lease could run out (TTL %v)", waited, testTTL)
	}
	b.observation(ctx, "sb", "", "p1", "vital-signs", 1)
	once(t, rcv)
}

// A subscription switched off or deleted is claimed by no one; switched
// off through another gateway than the one running it, it stops there at
// the next renewal even when that gateway never hears of the commit.
func TestLeases_OffOrDeletedSubscriptionIsNotClaimed(t *testing.T) {
	ctx := context.Background()
	d := newGateways(t)
	a, b := d.start("a"), d.start("b")
	rcv := newReceiver(t, 0)
	off := a.subscribe(ctx, "sb", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	gone := a.subscribe(ctx, "sb", "Observation?category=laboratory", hookChannel(rcv.URL, nil))
	a.waitStatus("sb", off, StatusActive)
	a.waitStatus("sb", gone, StatusActive)

	// Off through B, whose commit A does not hear of.
	d.mu.Lock()
	a.closed = true // relays skip A
	d.mu.Unlock()
	setStatus(t, b.env, "sb", off, StatusOff)
	if _, err := b.store.Delete(ctx, "sb", "Subscription", gone); err != nil {
		t.Fatal(err)
	}
	d.waitOwner("sb", off, nil, 2*testTTL)
	d.waitOwner("sb", gone, nil, 2*testTTL)
	d.mu.Lock()
	a.closed = false
	d.mu.Unlock()

	time.Sleep(testTTL) // renewals and sweeps on both
	b.observation(ctx, "sb", "", "p1", "vital-signs", 1)
	b.observation(ctx, "sb", "", "p1", "laboratory", 2)
	a.observation(ctx, "sb", "", "p1", "vital-signs", 3)
	rcv.none(t, 4*testSweep)
	if o := d.owner("sb", off); o != "" {
		t.Errorf("the switched-off subscription was claimed by %s", o)
	}
	if st := b.state("sb", off); st.Status != StatusOff {
		t.Errorf("status %q", st.Status)
	}
}

// setStatus writes a Subscription with status, as a client does.
func setStatus(t *testing.T, e *env, sandbox, id, status string) {
	t.Helper()
	cur, err := e.store.Read(context.Background(), fhirstore.Sandbox(sandbox), "Subscription", id)
	if err != nil {
		t.Fatal(err)
	}
	res, err := withStatus(cur.Body, status, "", false)
	if err != nil || res == nil {
		t.Fatalf("status %s: %v", status, err)
	}
	if _, _, err := e.store.Update(context.Background(), fhirstore.Sandbox(sandbox), res, fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A takeover runs a subscription as it was stored, in its own sandbox: a
// subscription of sandbox x is never notified of sandbox y's writes (nor
// y's, of the same id, of x's), and one made under a confined token,
// whose confinement the claimer cannot know, is switched off rather than
// run unconfined.
func TestLeases_TakeoverKeepsSandboxAndConfinement(t *testing.T) {
	ctx := context.Background()
	d := newGateways(t)
	a, b := d.start("a"), d.start("b")
	rcvX, rcvY, rcvConfined := newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0)
	for sb, rcv := range map[string]*receiver{"x": rcvX, "y": rcvY} {
		doc := parseResource(t, `{"resourceType":"Subscription","status":"requested","reason":"test",
			"criteria":"Observation?category=vital-signs","channel":{"type":"rest-hook","endpoint":"`+rcv.URL+`"}}`)
		if _, err := a.store.Create(ctx, fhirstore.Sandbox(sb), doc, "same"); err != nil {
			t.Fatal(err)
		}
		a.waitStatus(sb, "same", StatusActive)
	}
	conf := &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "p1"}}
	confined := a.subscribe(search.ConfineTo(ctx, conf), "x", "Observation?category=vital-signs",
		hookChannel(rcvConfined.URL, nil))
	a.waitStatus("x", confined, StatusActive)

	d.stop(a, true)
	d.waitOwner("x", "same", b, 3*testTTL)
	d.waitOwner("y", "same", b, 3*testTTL)
	if s := b.waitStatus("x", confined, StatusOff); !contains(s.Error, "write it again") {
		t.Errorf("confined subscription after the takeover: error %q", s.Error)
	}
	d.waitOwner("x", confined, nil, 3*testTTL)

	b.observation(ctx, "y", "", "p1", "vital-signs", 1)
	once(t, rcvY)
	rcvX.none(t, 0)
	b.observation(ctx, "x", "", "p2", "vital-signs", 2)
	once(t, rcvX)
	rcvY.none(t, 0)
	rcvConfined.none(t, 4*testSweep)
	time.Sleep(2 * testSweep)
	if o := d.owner("x", confined); o != "" {
		t.Errorf("the switched-off confined subscription was claimed again by %s", o)
	}
}

// A Subscription a client writes as active is judged by the gateway it
// was written through (under its writer's confinement); the other
// gateways' sweeps leave a version younger than the lease TTL alone.
func TestLeases_FreshVersionLeftToItsWriter(t *testing.T) {
	ctx := context.Background()
	d := newGateways(t)
	b := d.start("b")
	// Written through a gateway that has not judged it yet.
	w, err := sqlite.Open(ctx, d.dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rcv := newReceiver(t, 0)
	doc := parseResource(t, `{"resourceType":"Subscription","status":"active","reason":"test",
		"criteria":"Observation?category=vital-signs","channel":{"type":"rest-hook","endpoint":"`+rcv.URL+`"}}`)
	conf := &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "p1"}}
	res, err := w.Create(search.ConfineTo(ctx, conf), "sb", doc, "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(testTTL / 2)
	if o := d.owner("sb", res.ID); o != "" {
		t.Errorf("a version %v old was claimed by %s", testTTL/2, o)
	}
	b.observation(ctx, "sb", "", "p2", "vital-signs", 1)
	rcv.none(t, 2*testSweep)
}

// While Redis does not answer a gateway keeps running what it holds and
// runs a subscription written through it without a lease; when Redis
// answers again every subscription has one owner, and no commit is
// notified twice.
func TestLeases_RedisDownKeepsRunningWhatItHolds(t *testing.T) {
	ctx := context.Background()
	d := newGateways(t)
	a, b := d.start("a"), d.start("b")
	rcv, rcv2 := newReceiver(t, 0), newReceiver(t, 0)
	id := a.subscribe(ctx, "sb", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	a.waitStatus("sb", id, StatusActive)
	d.waitOwner("sb", id, a, time.Second)

	a.leases.down.Store(true)
	b.leases.down.Store(true)
	id2 := a.subscribe(ctx, "sb", "Observation?category=laboratory", hookChannel(rcv2.URL, nil))
	a.waitStatus("sb", id2, StatusActive)
	time.Sleep(testTTL / 2) // renewals fail
	b.observation(ctx, "sb", "", "p1", "vital-signs", 1)
	once(t, rcv)
	a.observation(ctx, "sb", "", "p1", "laboratory", 2)
	once(t, rcv2)

	// Down longer than the TTL: A's first lease ran out, and whichever
	// gateway claims it first runs it (the other stops at its renewal).
	a.leases.down.Store(false)
	b.leases.down.Store(false)
	time.Sleep(testTTL + 4*testSweep)
	if d.owner("sb", id) == "" || d.owner("sb", id2) == "" {
		t.Errorf("owners after Redis answers again: %q and %q", d.owner("sb", id), d.owner("sb", id2))
	}
	b.observation(ctx, "sb", "", "p1", "vital-signs", 3)
	once(t, rcv)
	b.observation(ctx, "sb", "", "p1", "laboratory", 4)
	once(t, rcv2)
}

// A Subscription still requested after the lease TTL was never judged (the
// gateway it was written through stopped first): the sweep writes it
// error, asking for it to be written again, as a restart does, and runs
// nothing.
func TestLeases_UnjudgedRequestWrittenError(t *testing.T) {
	ctx := context.Background()
	d := newGateways(t)
	b := d.start("b")
	w, err := sqlite.Open(ctx, d.dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rcv := newReceiver(t, 0)
	doc := parseResource(t, `{"resourceType":"Subscription","status":"requested","reason":"test",
		"criteria":"Observation?category=vital-signs","channel":{"type":"rest-hook","endpoint":"`+rcv.URL+`"}}`)
	res, err := w.Create(ctx, "sb", doc, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := b.waitStatus("sb", res.ID, StatusError); !contains(s.Error, "write it again") {
		t.Errorf("error %q", s.Error)
	}
	d.waitOwner("sb", res.ID, nil, testTTL)
	b.observation(ctx, "sb", "", "p1", "vital-signs", 1)
	rcv.none(t, 4*testSweep)
	if o := d.owner("sb", res.ID); o != "" {
		t.Errorf("claimed again by %s", o)
	}
}
