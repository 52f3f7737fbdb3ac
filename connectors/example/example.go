// Package example is the smallest useful connector, written as a model for
// real ones and run against the shared suite (connectors/connectortest): it
// takes FHIR Observations, as a device gateway might send them, and stores
// them in the sandbox through the connector Engine.
//
// Over HTTP it takes POST /Observation (one Observation) and POST /Bundle
// (a transaction Bundle of creates). Over its listener it takes MLLP frames
// that each hold one Observation in FHIR JSON and answers each with a frame
// holding the stored Observation or an OperationOutcome. That framing of
// FHIR JSON is this example's own convention, not HL7 v2: the device-feed
// connector (connectors/mtu) speaks ORU^R01.
//
// It is not a conformance tool for devices and checks nothing beyond the
// FHIR validation the engine does and its two example checks.
package example

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/mllp"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/requestlog"
)

// ID is the connector's id.
const ID = "example"

// MaxMessageBytes bounds one Observation or Bundle, over either channel.
const MaxMessageBytes = 1 << 20

// idleTimeout closes a listener's connection that sends nothing for this
// long, so that a silent peer does not hold a goroutine forever.
const idleTimeout = 5 * time.Minute

// Connector is the example connector. Make it with Open.
type Connector struct {
	engine connectors.Engine
	ev     *connectors.Evidence
	log    *slog.Logger
}

var (
	_ connectors.RouteConnector  = (*Connector)(nil)
	_ connectors.ListenConnector = (*Connector)(nil)
	_ connectors.CheckConnector  = (*Connector)(nil)
)

// Open is the connector's connectors.Opener.
func Open(deps connectors.Deps) (connectors.Connector, error) {
	if deps.Engine == nil {
		return nil, errors.New("example: no engine to write through")
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Connector{engine: deps.Engine, ev: deps.Evidence(ID), log: log}, nil
}

// ID implements connectors.Connector.
func (c *Connector) ID() string { return ID }

// Description implements connectors.Connector.
func (c *Connector) Description() string {
	return "Example: stores FHIR Observations posted over HTTP or sent in MLLP frames"
}

// Routes implements connectors.RouteConnector.
func (c *Connector) Routes() []connectors.Route {
	return []connectors.Route{
		{Method: http.MethodPost, Path: "/Observation", Summary: "store one FHIR Observation", Handler: http.HandlerFunc(c.postObservation)},
		{Method: http.MethodPost, Path: "/Bundle", Summary: "store the Observations of a transaction Bundle", Handler: http.HandlerFunc(c.postBundle)},
	}
}

func (c *Connector) postObservation(w http.ResponseWriter, r *http.Request) {
	caller, body, ok := c.admit(w, r)
	if !ok {
		return
	}
	stored, err := c.store(r.Context(), caller, body)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.Header().Set("ETag", stored.ETag())
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(stored.Body)
}

func (c *Connector) postBundle(w http.ResponseWriter, r *http.Request) {
	caller, body, ok := c.admit(w, r)
	if !ok {
		return
	}
	if !caller.MayCreate("Observation") {
		connectors.WriteOutcome(w, errForbidden)
		return
	}
	if err := onlyObservations(body); err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	resp, err := c.engine.Transaction(r.Context(), fhirstore.Sandbox(caller.Sandbox), body)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	_, _ = w.Write(resp)
}

// admit reads a request's caller and body, or answers why it cannot.
func (c *Connector) admit(w http.ResponseWriter, r *http.Request) (connectors.Caller, []byte, bool) {
	caller, ok := connectors.CallerFrom(r.Context())
	if !ok {
		connectors.WriteOutcome(w, outcome.New(outcome.Fault, outcome.Exception, "no sandbox for the request"))
		return caller, nil, false
	}
	body, err := connectors.ReadBody(w, r, MaxMessageBytes)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		connectors.WriteOutcome(w, outcome.New(outcome.TooLarge, outcome.TooLong,
			"the body is larger than %d bytes", MaxMessageBytes))
		return caller, nil, false
	case err != nil:
		connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.Structure, "the body could not be read"))
		return caller, nil, false
	}
	return caller, body, true
}

var errForbidden = outcome.New(outcome.Denied, outcome.Forbidden,
	"the token does not grant creating Observations: the example connector needs user/Observation.c or system/Observation.c (patient-level scopes do not suffice)")

// store checks that body is an Observation the caller may create, and
// creates it.
func (c *Connector) store(ctx context.Context, caller connectors.Caller, body []byte) (*fhirstore.Resource, error) {
	if !caller.MayCreate("Observation") {
		return nil, errForbidden
	}
	if typ := resourceType(body); typ != "Observation" {
		return nil, outcome.New(outcome.Unprocessable, outcome.Invalid,
			"the example connector takes an Observation, not %s", describe(typ)).At("resourceType")
	}
	return c.engine.Create(ctx, fhirstore.Sandbox(caller.Sandbox), body)
}

// onlyObservations refuses a Bundle that is not a transaction creating
// Observations: the caller was judged for creating Observations only, so
// no entry may update, delete or read. The engine judges the rest.
func onlyObservations(body []byte) error {
	var b struct {
		Type  string `json:"type"`
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
			Request  struct {
				Method string `json:"method"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil // not JSON, or not shaped as a Bundle: the engine says how
	}
	if b.Type != "transaction" {
		return outcome.New(outcome.Unprocessable, outcome.Invalid,
			"the example connector takes a transaction Bundle, not type %q", b.Type).At("Bundle.type")
	}
	for i, e := range b.Entry {
		if typ := resourceType(e.Resource); typ != "Observation" {
			return outcome.New(outcome.Unprocessable, outcome.Invalid,
				"the example connector stores Observations only, not %s", describe(typ)).At(fmt.Sprintf("Bundle.entry[%d].resource", i))
		}
		if e.Request.Method != "POST" {
			return outcome.New(outcome.Unprocessable, outcome.Invalid,
				"the example connector creates Observations only: entry %d's request.method is %q, not POST", i, e.Request.Method).At(fmt.Sprintf("Bundle.entry[%d].request.method", i))
		}
	}
	return nil
}

func resourceType(body []byte) string {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if json.Unmarshal(body, &head) != nil {
		return ""
	}
	return head.ResourceType
}

func describe(typ string) string {
	if typ == "" {
		return "a body without a resourceType"
	}
	return outcome.Article(typ)
}

// Serve implements connectors.ListenConnector.
func (c *Connector) Serve(ctx context.Context, l net.Listener) error {
	caller, ok := connectors.CallerFrom(ctx)
	if !ok {
		l.Close()
		return errors.New("example: a listener needs the sandbox to write to (connectors.WithCaller)")
	}
	return connectors.ServeConns(ctx, l, func(ctx context.Context, conn net.Conn) {
		c.serveConn(ctx, caller, conn, l.Addr().String())
	})
}

// serveConn answers each frame on conn until the peer closes it, sends
// something that is not a frame, or ctx ends (ServeConns closes conn).
func (c *Connector) serveConn(ctx context.Context, caller connectors.Caller, conn net.Conn, channel string) {
	r := mllp.NewReader(conn, MaxMessageBytes)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(idleTimeout))
		msg, err := r.ReadFrame()
		if err != nil {
			if errors.Is(err, mllp.ErrFrame) || errors.Is(err, mllp.ErrTooLarge) {
				// Out of step: answer once, record it, and hang up.
				x := c.exchange(caller, channel, nil)
				x.Issues = []outcome.Issue{{Severity: outcome.ErrorLevel, Code: outcome.Structure, Diagnostics: err.Error()}}
				x.Status = http.StatusBadRequest
				c.answer(conn, x, outcome.JSON(x.Issues))
			}
			return
		}
		x := c.exchange(caller, channel, msg)
		stored, err := c.store(ctx, caller, msg)
		if err != nil {
			oe := outcome.From(err)
			x.Status, x.Issues = interaction.Status(oe), oe.Issues
			c.answer(conn, x, oe.JSON())
			continue
		}
		x.Status = http.StatusCreated
		c.answer(conn, x, stored.Body)
	}
}

func (c *Connector) exchange(caller connectors.Caller, channel string, msg []byte) *connectors.Exchange {
	return &connectors.Exchange{Sandbox: caller.Sandbox, Channel: requestlog.ChannelMLLP, Kind: "Observation",
		Path: channel, Start: c.ev.Now(), RequestBytes: int64(len(msg)), Request: msg}
}

// answer writes body as a frame and records the exchange.
func (c *Connector) answer(conn net.Conn, x *connectors.Exchange, body []byte) {
	x.Response, x.ResponseType, x.ResponseBytes = body, "application/fhir+json", int64(len(body))
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := mllp.WriteFrame(conn, bytes.TrimSpace(body)); err != nil {
		c.log.Debug("example: answering a frame failed", "err", err)
	}
	c.ev.Record(x)
}
