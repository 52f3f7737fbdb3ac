package peers

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

// TopicChanges carries the versions each gateway's store committed.
const TopicChanges = "changes"

// changeRef names one committed version; the body is read back from the
// shared store, so that messages stay small and carry no health data.
type changeRef struct {
	Sandbox string `json:"s"`
	Type    string `json:"t"`
	ID      string `json:"i"`
	Version int64  `json:"v"`
	Deleted bool   `json:"d,omitempty"`
}

// maxQueued bounds the commits waiting to be published; past it commits
// are dropped (and logged): the other gateways then miss their
// notifications, the writes themselves are safe in the store.
const maxQueued = 10000

// RelayChanges publishes on bus what store commits, and hands deliver the
// commits of the other gateways, read back from store (which they share)
// in the order each of them committed. Call it before bus.Start; stop ends
// the publishing.
//
// What a change carries of its writer (Confinement, Writer) stays with
// the gateway that wrote it: relayed changes have neither, so a receiver
// must not take up a Subscription from them (package subscription's
// Manager.Relayed does not).
func RelayChanges(bus *Bus, store fhirstore.Store, deliver func([]fhirstore.Change), log *slog.Logger) (stop func(), ok bool) {
	reporter, ok := store.(fhirstore.CommitReporter)
	if !ok {
		return func() {}, false
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bus.Subscribe(TopicChanges, func(m Message) {
		if m.From == bus.ID() {
			return
		}
		var refs []changeRef
		if err := json.Unmarshal(m.Data, &refs); err != nil {
			log.Warn("peers: unreadable changes", "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(search.Unconfined(context.Background()), 10*time.Second)
		defer cancel()
		changes := make([]fhirstore.Change, 0, len(refs))
		for _, r := range refs {
			res := &fhirstore.Resource{Type: r.Type, ID: r.ID, Version: r.Version, Method: fhirstore.MethodDelete}
			if !r.Deleted {
				got, err := store.VRead(ctx, fhirstore.Sandbox(r.Sandbox), r.Type, r.ID, r.Version)
				if err != nil {
					// Erased since (a reset): nothing to notify.
					continue
				}
				res = got
			}
			changes = append(changes, fhirstore.Change{Sandbox: fhirstore.Sandbox(r.Sandbox), Resource: res})
		}
		if len(changes) > 0 {
			deliver(changes)
		}
	})
	p := &publisher{bus: bus, log: log, wake: make(chan struct{}, 1), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go p.run(ctx)
	unobserve := reporter.ObserveCommits(p.committed)
	return func() {
		unobserve()
		cancel()
		<-p.done
	}, true
}

// publisher takes commits from the store's committing goroutine, which
// must not wait, and publishes them in order on its own.
type publisher struct {
	bus  *Bus
	log  *slog.Logger
	mu   sync.Mutex
	q    [][]changeRef
	wake chan struct{}
	done chan struct{}
}

func (p *publisher) committed(changes []fhirstore.Change) {
	refs := make([]changeRef, len(changes))
	for i, c := range changes {
		refs[i] = changeRef{Sandbox: string(c.Sandbox), Type: c.Resource.Type, ID: c.Resource.ID,
			Version: c.Resource.Version, Deleted: c.Resource.Deleted()}
	}
	p.mu.Lock()
	if len(p.q) >= maxQueued {
		p.mu.Unlock()
		p.log.Error("peers: too many commits waiting to be published; the other gateways miss this one", "changes", len(refs))
		return
	}
	p.q = append(p.q, refs)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *publisher) run(ctx context.Context) {
	defer close(p.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for {
			p.mu.Lock()
			batch := p.q
			p.q = nil
			p.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, refs := range batch {
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := p.bus.Publish(pctx, TopicChanges, refs)
				cancel()
				if err != nil && ctx.Err() == nil {
					p.log.Error("peers: publishing a commit; the other gateways miss it", "err", err)
				}
			}
		}
	}
}
