package subscription

import (
	"context"
	"testing"
	"time"

	"hpsandbox/fhirstore"
)

// In Shared mode a manager runs the subscriptions written through its own
// gateway: the other gateways' commits (Relayed) notify them, a
// Subscription written elsewhere is not taken up here, and its newer
// version written elsewhere stops it here (a late, older one does not).
func TestShared_RelayedCommitsNotifyButDoNotTakeUpSubscriptions(t *testing.T) {
	cfg := fastConfig()
	cfg.Shared = true
	e := newEnv(t, cfg)
	ctx := context.Background()
	rcv := newReceiver(t, 0)
	// Written before the subscription: the local commit notified nothing.
	obs := e.observation(ctx, "sb", "", "p1", "vital-signs", 70)
	id := e.subscribe(ctx, "sb", "Observation?category=vital-signs", hookChannel(rcv.URL, nil))
	e.waitStatus("sb", id, StatusActive)
	cur, err := e.store.Read(ctx, "sb", "Subscription", id)
	if err != nil {
		t.Fatal(err)
	}

	// Another gateway's write, relayed: notified once.
	relayed := func(r *fhirstore.Resource) []fhirstore.Change {
		return []fhirstore.Change{{Sandbox: "sb", Resource: r}}
	}
	e.m.Relayed(relayed(obs))
	if got := rcv.next(t); got.Method != "POST" {
		t.Errorf("relayed match: %s %s", got.Method, got.Path)
	}

	// An older version of the Subscription, arriving late: still runs.
	old := *cur
	old.Version = cur.Version - 1
	e.m.Relayed(relayed(&old))
	e.m.Relayed(relayed(obs))
	rcv.next(t)

	// A newer version written through another gateway: run there, stopped
	// here, and its status left to that gateway.
	newer := *cur
	newer.Version = cur.Version + 1
	e.m.Relayed(relayed(&newer))
	e.m.Relayed(relayed(obs))
	rcv.none(t, 300*time.Millisecond)
	if st := e.state("sb", id); st.Status != StatusActive {
		t.Errorf("the stopped subscription's status was written here: %s", st.Status)
	}
}
