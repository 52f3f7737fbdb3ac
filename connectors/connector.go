package connectors

import (
	"context"
	"net"
	"net/http"
)

// Connector is what every connector is: a stable id and a one-line
// description. Everything else is a capability interface below.
type Connector interface {
	// ID is the connector's stable id: lower-case letters, digits and
	// hyphens (ValidID). It names the connector in paths, configuration
	// and the request log, so it never changes between versions.
	ID() string
	// Description says in one line what the connector emulates.
	Description() string
}

// RouteConnector is a connector that takes HTTP requests.
type RouteConnector interface {
	Connector
	// Routes are the connector's endpoints, relative to where the gateway
	// mounts it. Handlers find the sandbox and caller with CallerFrom.
	Routes() []Route
}

// Route is one HTTP endpoint of a connector.
type Route struct {
	// Method is the HTTP method, e.g. "POST".
	Method string
	// Path is relative to the connector's mount point and starts with
	// "/"; it may hold net/http.ServeMux wildcards ("/Observation/{id}").
	Path string
	// Summary says in one line what the endpoint does, for API guides.
	Summary string
	Handler http.Handler
}

// ListenConnector is a connector that serves a listener of its own, such
// as MLLP over TCP.
type ListenConnector interface {
	Connector
	// Serve accepts connections on l until ctx ends, then closes l and
	// every connection it accepted, waits for the goroutines it started,
	// and returns nil. It returns an error only when l fails otherwise.
	// The sandbox the listener writes to is the ctx's Caller.
	Serve(ctx context.Context, l net.Listener) error
}

// CheckConnector is a connector that contributes conformance checks.
type CheckConnector interface {
	Connector
	// Checks are the connector's checks. Their ids start with the
	// connector's id and a hyphen, which keeps them unique among all
	// connectors' checks.
	Checks() []Check
}

// Starter is a connector with work to do before it serves and after it
// stops, such as a timer that emits scheduled messages.
type Starter interface {
	// Start is called once, before any route or listener is served. The
	// goroutines it starts are the connector's to stop in Stop.
	Start(ctx context.Context) error
	// Stop is called once, after serving has stopped, and returns when
	// everything Start started has stopped (or ctx ends).
	Stop(ctx context.Context) error
}

// ValidID reports whether id can name a connector: 1 to 32 lower-case
// letters, digits and hyphens, starting with a letter.
func ValidID(id string) bool {
	if id == "" || len(id) > 32 || id[0] < 'a' || id[0] > 'z' {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
