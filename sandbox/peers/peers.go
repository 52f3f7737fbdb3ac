package peers

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Message is one message as received.
type Message struct {
	// From is the id of the gateway that sent it.
	From string `json:"f"`
	// Data is what it sent.
	Data json.RawMessage `json:"d"`
}

// Bus is one gateway's end of the channels of a deployment. It is safe
// for concurrent use.
type Bus struct {
	client *redis.Client
	prefix string
	id     string
	log    *slog.Logger

	mu       sync.Mutex
	handlers map[string][]func(Message)
	sub      *redis.PubSub
	done     chan struct{}
}

// Open connects to the Redis at rawURL; topics are named under prefix (for
// example "hps:"), so that deployments sharing one Redis stay apart.
// Subscribe what the gateway handles, then Start.
func Open(ctx context.Context, rawURL, prefix string, log *slog.Logger) (*Bus, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("peers: %w (want redis://host:port/db)", err)
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("peers: Redis at %s does not answer: %w", opts.Addr, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bus{client: client, prefix: prefix, id: rand.Text(), log: log, handlers: map[string][]func(Message){}}, nil
}

// ID is this gateway's id on the bus, new at every start.
func (b *Bus) ID() string { return b.id }

// Subscribe calls fn, one message at a time and in the order they were
// published, for every message of topic; it must be called before Start.
func (b *Bus) Subscribe(topic string, fn func(Message)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers[topic] = append(b.handlers[topic], fn)
}

// Start subscribes to the topics and delivers their messages until
// Close. It returns once Redis confirmed the subscription, so that what
// is published after it is received.
func (b *Bus) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sub != nil {
		return errors.New("peers: started already")
	}
	var channels []string
	for topic := range b.handlers {
		channels = append(channels, b.prefix+topic)
	}
	if len(channels) == 0 {
		return nil
	}
	sub := b.client.Subscribe(ctx, channels...)
	if _, err := sub.Receive(ctx); err != nil {
		sub.Close()
		return fmt.Errorf("peers: subscribing: %w", err)
	}
	b.sub, b.done = sub, make(chan struct{})
	go b.run(sub.Channel(redis.WithChannelSize(1000)))
	return nil
}

func (b *Bus) run(ch <-chan *redis.Message) {
	defer close(b.done)
	for msg := range ch {
		var m Message
		if err := json.Unmarshal([]byte(msg.Payload), &m); err != nil {
			b.log.Warn("peers: unreadable message", "channel", msg.Channel, "err", err)
			continue
		}
		b.mu.Lock()
		fns := b.handlers[strings.TrimPrefix(msg.Channel, b.prefix)]
		b.mu.Unlock()
		for _, fn := range fns {
			fn(m)
		}
	}
}

// Publish sends data (marshalled as JSON) on topic to every gateway.
func (b *Bus) Publish(ctx context.Context, topic string, data any) error {
	d, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("peers: %w", err)
	}
	raw, err := json.Marshal(Message{From: b.id, Data: d})
	if err != nil {
		return fmt.Errorf("peers: %w", err)
	}
	if err := b.client.Publish(ctx, b.prefix+topic, raw).Err(); err != nil {
		return fmt.Errorf("peers: publishing on %s: %w", topic, err)
	}
	return nil
}

// Close stops delivery and closes the connection; closing again does
// nothing.
func (b *Bus) Close() error {
	b.mu.Lock()
	sub, done := b.sub, b.done
	b.sub = nil
	b.mu.Unlock()
	var err error
	if sub != nil {
		err = sub.Close()
		<-done
	}
	if b.client != nil {
		err = errors.Join(err, b.client.Close())
		b.client = nil
	}
	return err
}
