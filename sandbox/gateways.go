package sandbox

import (
	"context"
	"encoding/json"
	"log/slog"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/peers"
	"hpsandbox/sandbox/subscription"
)

// peersPrefix starts the Redis pub/sub channels of the gateways.
const peersPrefix = "hps:peers:"

// Topics the gateways of one deployment talk on (package peers).
const (
	// topicPing carries websocket notifications to the gateway holding
	// the socket.
	topicPing = "ping"
	// topicErased names a sandbox whose data was erased or replaced (a
	// reset, a delete): what the gateways remember of it goes.
	topicErased = "erased"
	// topicChanged names a sandbox whose settings or apps changed: the
	// gateways forget what they remember of its registration.
	topicChanged = "changed"
)

type pingMsg struct {
	Sandbox      string `json:"s"`
	Subscription string `json:"i"`
}

// wsRelay is the websocket Notifier of a gateway among several: the
// notification goes to every gateway's hub, one of which holds the socket.
type wsRelay struct{ bus *peers.Bus }

func (r wsRelay) Notify(ctx context.Context, n *subscription.Notification) error {
	return r.bus.Publish(ctx, topicPing, pingMsg{Sandbox: string(n.Sandbox), Subscription: n.Subscription})
}

// shareSubscriptions makes the subscription manager m one of several on
// bus: it takes the other gateways' commits, and its hub the websocket
// notifications of every gateway. Call before bus.Start.
func shareSubscriptions(bus *peers.Bus, store fhirstore.Store, m *subscription.Manager, hub *subscription.Hub,
	log *slog.Logger, track func(func() error)) {
	bus.Subscribe(topicPing, func(msg peers.Message) {
		var p pingMsg
		if json.Unmarshal(msg.Data, &p) != nil {
			return
		}
		_ = hub.Notify(context.Background(), &subscription.Notification{Sandbox: fhirstore.Sandbox(p.Sandbox), Subscription: p.Subscription})
	})
	stop, _ := peers.RelayChanges(bus, store, m.Relayed, log)
	track(func() error { stop(); return nil })
}

// shareForgets tells the other gateways on bus, on topic, of a sandbox
// this one forgot, and forgets, through forget, those the others name
// there. Call before bus.Start; the returned function publishes.
func shareForgets(bus *peers.Bus, topic string, forget func(sandbox string), log *slog.Logger) (tell func(ctx context.Context, sandbox string)) {
	bus.Subscribe(topic, func(msg peers.Message) {
		var id string
		if msg.From == bus.ID() || json.Unmarshal(msg.Data, &id) != nil {
			return
		}
		forget(id)
	})
	return func(ctx context.Context, sandbox string) {
		if err := bus.Publish(context.WithoutCancel(ctx), topic, sandbox); err != nil {
			log.Error("telling the other gateways to forget a sandbox; they do within seconds", "topic", topic, "sandbox", sandbox, "err", err)
		}
	}
}
