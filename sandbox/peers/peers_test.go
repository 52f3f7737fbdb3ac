package peers_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
	"hpsandbox/sandbox/peers"
	"hpsandbox/smart/redisstate/redistest"
)

func open(t *testing.T, url, prefix string) *peers.Bus {
	t.Helper()
	b, err := peers.Open(context.Background(), url, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// recv collects what a topic delivers.
type recv struct {
	mu  sync.Mutex
	got []string
}

func (r *recv) add(s string) { r.mu.Lock(); r.got = append(r.got, s); r.mu.Unlock() }

func (r *recv) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]string(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Every gateway, the sender too, gets each message once and in order;
// another deployment's prefix hears nothing.
func TestBus_EveryGatewayGetsEachMessageOnceInOrder(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	buses := []*peers.Bus{open(t, url, "d1:"), open(t, url, "d1:"), open(t, url, "d2:")}
	recvs := make([]*recv, len(buses))
	for i, b := range buses {
		r := &recv{}
		recvs[i] = r
		b.Subscribe("t", func(m peers.Message) {
			var s string
			_ = json.Unmarshal(m.Data, &s)
			from := "other"
			if m.From == b.ID() {
				from = "self"
			}
			r.add(from + ":" + s)
		})
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"a", "b", "c"} {
		if err := buses[0].Publish(ctx, "t", s); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range [][]string{{"self:a", "self:b", "self:c"}, {"other:a", "other:b", "other:c"}} {
		got := recvs[i].wait(t, 3)
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("gateway %d got %v, want %v", i, got, want)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if got := recvs[2].wait(t, 0); len(got) != 0 {
		t.Errorf("another deployment heard %v", got)
	}
	if got := recvs[0].wait(t, 4); len(got) != 3 {
		t.Errorf("a message delivered twice: %v", got)
	}
}

// Two engines on one database: what one commits reaches the other's
// deliver, read back from the store, and never its own.
func TestRelayChanges_TheOtherGatewaysCommitsArriveOnce(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	var stores []*sqlstore.Store
	for range 2 {
		s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	var got [2]recv
	for i, s := range stores {
		bus := open(t, url, "hps:")
		stop, ok := peers.RelayChanges(bus, s, func(changes []fhirstore.Change) {
			for _, c := range changes {
				got[i].add(string(c.Sandbox) + " " + c.Resource.Type + "/" + c.Resource.ID + " " + string(c.Resource.Body[:1]))
			}
		}, nil)
		if !ok {
			t.Fatal("a sqlstore reports its commits")
		}
		t.Cleanup(stop)
		if err := bus.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stores[0].Create(ctx, "sb", storetest.Patient(t, "", "x"), "p1"); err != nil {
		t.Fatal(err)
	}
	if g := got[1].wait(t, 1); len(g) != 1 || g[0] != "sb Patient/p1 {" {
		t.Errorf("the other gateway got %v", g)
	}
	time.Sleep(100 * time.Millisecond)
	if g := got[0].wait(t, 0); len(g) != 0 {
		t.Errorf("the writer got its own commit back: %v", g)
	}
}
