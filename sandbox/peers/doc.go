// Package peers carries short messages between the gateways that serve
// one deployment, over Redis pub/sub: what one gateway committed (so that
// the others notify their websockets and rest-hooks), websocket pings,
// and which caches to drop. Each message is delivered to every gateway
// subscribed at the time, the sender included, at most once; a gateway
// that is down misses it (pub/sub keeps nothing).
//
// Leases are owner leases in Redis keys beside the channels: the gateway
// holds one per Subscription it runs, so that each runs on one gateway
// (package subscription's Leases).
//
// It is not a queue and not a store: what must survive lives in the
// database or in Redis keys (package redisstate).
//
// The gateway (package sandbox) uses three topics when it runs with
// --redis-url: "changes" (RelayChanges: the versions each store committed,
// for the subscription managers of the others), "ping" (websocket
// notifications, for the gateway holding the socket) and "erased" /
// "changed" (a sandbox reset, deleted, or its settings or apps changed:
// the gateways forget what they remember of it).
package peers
