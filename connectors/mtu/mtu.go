package mtu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/connectors/mllp"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/requestlog"
)

// ID is the connector's id.
const ID = "mtu"

// DefaultAddr is where a device feed's MLLP listener is usually bound
// (2575 is HL7's registered port): --connector-listen mtu=127.0.0.1:2575@default.
const DefaultAddr = "127.0.0.1:2575"

// MaxMessageBytes bounds one message.
const MaxMessageBytes = 1 << 20

// ResponseType is the media type of the ACKs the connector answers with,
// as the request log keeps it.
const ResponseType = "x-application/hl7-v2+er7"

// idleTimeout closes a connection that sends nothing for this long.
const idleTimeout = 5 * time.Minute

// devicesMax bounds the Device ids remembered, per sandbox and of
// sandboxes.
const devicesMax = 10000

// seenMax bounds the message control ids remembered for telling a
// resent message from a new one.
const seenMax = 100000

// Config is the connector's configuration.
type Config struct {
	// RegisterPatients makes a message whose PID-3 names no patient of
	// the sandbox register one from PID (identifiers, name, birth date,
	// sex) instead of being answered AE. Off by default: device data
	// belongs to the sandbox's patients.
	RegisterPatients bool
	// Location is the zone of timestamps that name no offset (UTC when
	// nil); the conformance checks flag such timestamps.
	Location *time.Location
	// MaxConnections bounds the connections served at once
	// (DefaultMaxConnections when not positive); one more is answered
	// with an AR and closed.
	MaxConnections int
}

// DefaultMaxConnections bounds a listener's open connections.
const DefaultMaxConnections = 512

// Connector is the device-feed connector. Make it with Open or Opener.
type Connector struct {
	engine connectors.Engine
	ev     *connectors.Evidence
	log    *slog.Logger
	cfg    Config
	now    func() time.Time
	ackSeq atomic.Uint64
	conns  atomic.Int64 // connections being served

	mu       sync.Mutex
	seen     map[string]struct{} // sandbox, sender and control id of messages stored
	seenRing []string
	devices  map[string]map[string]string       // sandbox → device query → Device/id
	patients map[string]map[string]knownPatient // sandbox → PID-3's identifiers → the Patient they found
	seenNext int

	// recording holds the exchanges being recorded (*connectors.Exchange
	// → *recorded), for the checks that judge them (see record).
	recording sync.Map
}

var (
	_ connectors.ListenConnector = (*Connector)(nil)
	_ connectors.CheckConnector  = (*Connector)(nil)
)

// Open is the connector's connectors.Opener, with the default Config.
func Open(deps connectors.Deps) (connectors.Connector, error) { return Opener(Config{})(deps) }

// Opener returns the Opener of a connector configured by cfg.
func Opener(cfg Config) connectors.Opener {
	return func(deps connectors.Deps) (connectors.Connector, error) {
		if deps.Engine == nil {
			return nil, errors.New("mtu: no engine to write through")
		}
		if cfg.Location == nil {
			cfg.Location = time.UTC
		}
		if cfg.MaxConnections <= 0 {
			cfg.MaxConnections = DefaultMaxConnections
		}
		log := deps.Logger
		if log == nil {
			log = slog.Default()
		}
		now := deps.Now
		if now == nil {
			now = time.Now
		}
		return &Connector{engine: deps.Engine, ev: deps.Evidence(ID), log: log, cfg: cfg, now: now,
			seen: map[string]struct{}{}, seenRing: make([]string, seenMax), devices: map[string]map[string]string{},
			patients: map[string]map[string]knownPatient{}}, nil
	}
}

// ID implements connectors.Connector.
func (c *Connector) ID() string { return ID }

// Description implements connectors.Connector.
func (c *Connector) Description() string {
	return "Medical devices: IHE PCD-01 and PCD-04 (HL7 v2 ORU over MLLP) to FHIR Observations, Devices and alerts"
}

// Serve implements connectors.ListenConnector: MLLP over TCP, each frame
// one HL7 v2 message answered with its ACK on the same connection.
func (c *Connector) Serve(ctx context.Context, l net.Listener) error {
	caller, ok := connectors.CallerFrom(ctx)
	if !ok {
		l.Close()
		return errors.New("mtu: a listener needs the sandbox to write to (connectors.WithCaller)")
	}
	return connectors.ServeConns(ctx, l, func(ctx context.Context, conn net.Conn) {
		defer c.conns.Add(-1)
		if c.conns.Add(1) > int64(c.cfg.MaxConnections) {
			x := c.exchange(caller, l.Addr().String(), nil)
			c.answer(conn, x, nil, problems{{hl7v2.AR, hl7v2.AckError{Code: hl7v2.CodeInternal, Severity: hl7v2.SeverityError,
				Text: fmt.Sprintf("more than %d connections are open: close idle ones, or send over one connection", c.cfg.MaxConnections)}}})
			return
		}
		c.serveConn(ctx, caller, conn, l.Addr().String())
	})
}

// serveConn answers each frame on conn until the peer closes it, sends
// something that is not a frame, or ctx ends (ServeConns closes conn).
func (c *Connector) serveConn(ctx context.Context, caller connectors.Caller, conn net.Conn, channel string) {
	// The mllp.Reader reads through br itself, so br tells what arrived
	// ahead of the frame being answered.
	br := bufio.NewReaderSize(conn, 64<<10)
	r := mllp.NewReader(br, MaxMessageBytes)
	early := false // the frame being read was sent before the last ACK
	for {
		_ = conn.SetReadDeadline(time.Now().Add(idleTimeout))
		msg, err := r.ReadFrame()
		if err != nil {
			if errors.Is(err, mllp.ErrFrame) || errors.Is(err, mllp.ErrTooLarge) {
				// Out of step: answer once with a rejection, record it,
				// and hang up.
				x := c.exchange(caller, channel, nil)
				code := hl7v2.CodeSegmentSequence
				if errors.Is(err, mllp.ErrTooLarge) {
					code = "104" // value too long (table 0357, v2.7)
				}
				ps := problems{{hl7v2.AR, hl7v2.AckError{Code: code, Severity: hl7v2.SeverityError, Text: err.Error()}}}
				c.answer(conn, x, nil, ps)
			}
			return
		}
		x := c.exchange(caller, channel, msg)
		m, ps := c.Handle(ctx, caller.Sandbox, msg)
		if m != nil {
			x.Kind = kindOf(m)
		}
		if early {
			ps = append(ps, problem{"", hl7v2.AckError{Code: hl7v2.CodeAccepted, Severity: hl7v2.SeverityInfo, AppCode: appCodePipelined,
				Text: "this message was sent before the ACK of the message before it"}})
		}
		early = frameAhead(br)
		ps = append(ps, c.findings(x, m, ps)...)
		c.answer(conn, x, m, ps)
	}
}

// frameAhead reports whether the start of another frame has arrived.
func frameAhead(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.IndexByte(b, mllp.StartBlock) >= 0
}

func kindOf(m *hl7v2.Message) string {
	msh := m.Segment("MSH")
	if t := msh.Get(9, 1); t != "" {
		return header{Type: t, Trigger: msh.Get(9, 2)}.kind()
	}
	return "HL7v2"
}

func (c *Connector) exchange(caller connectors.Caller, channel string, msg []byte) *connectors.Exchange {
	return &connectors.Exchange{Sandbox: caller.Sandbox, Channel: requestlog.ChannelMLLP, Kind: "HL7v2",
		Path: channel, Start: c.ev.Now(), RequestBytes: int64(len(msg)), Request: msg}
}

// answer writes the ACK of m (nil when it did not parse) as a frame and
// records the exchange.
func (c *Connector) answer(conn net.Conn, x *connectors.Exchange, m *hl7v2.Message, ps problems) {
	ack := hl7v2.Ack(m, ps.ack(), c.ackID(), c.now(), ps.errs())
	body := ack.Bytes()
	x.Ack = ps.ack()
	x.Response, x.ResponseType, x.ResponseBytes = body, ResponseType, int64(len(body))
	x.Issues = issues(ps)
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := mllp.WriteFrame(conn, body); err != nil {
		c.log.Debug("mtu: answering a frame failed", "err", err)
	}
	c.record(x, m)
}

// ackID is a fresh MSH-10 for an ACK.
func (c *Connector) ackID() string {
	return "HPS" + strconv.FormatUint(c.ackSeq.Add(1), 10)
}

// issues are the problems as OperationOutcome issues, for the request
// log: a refusal's errors, and the warnings (failed checks, a resent
// message) of an accepted message.
func issues(ps problems) []outcome.Issue {
	var out []outcome.Issue
	for _, p := range ps {
		sev, code := outcome.ErrorLevel, outcome.Invalid
		switch {
		case p.err.Severity == hl7v2.SeverityInfo:
			sev = outcome.Information
		case p.ack == "":
			sev = outcome.Warning
		case p.ack == hl7v2.AR:
			code = outcome.Structure
		}
		switch p.err.Code {
		case hl7v2.CodeRequiredMissing:
			code = outcome.Required
		case hl7v2.CodeUnknownKey:
			code = outcome.NotFound
		case hl7v2.CodeInternal:
			code = outcome.Exception
		case hl7v2.CodeUnsupportedMessage, hl7v2.CodeUnsupportedEvent, hl7v2.CodeUnsupportedVersion, hl7v2.CodeUnsupportedProcID:
			code = outcome.NotSupported
		}
		is := outcome.Issue{Severity: sev, Code: code, Diagnostics: p.err.Text}
		if p.err.Segment != "" {
			loc := fmt.Sprintf("%s[%d]", p.err.Segment, max(p.err.Sequence, 1))
			if p.err.Field > 0 {
				loc += fmt.Sprintf("-%d", p.err.Field)
			}
			is.Expression = []string{loc}
		}
		out = append(out, is)
	}
	return out
}

// Handle processes one message for sandbox: it parses and judges it and,
// when it is acceptable, stores what it reports in one FHIR transaction.
// It returns the parsed message (nil when it did not parse) and its
// problems, from which the ACK follows.
func (c *Connector) Handle(ctx context.Context, sandbox string, raw []byte) (*hl7v2.Message, problems) {
	m, err := hl7v2.Parse(raw)
	if err != nil {
		return nil, problems{parseProblem(err)}
	}
	var ps problems
	h := readHeader(m, &ps)
	if ps.ack() != hl7v2.AA {
		return m, ps
	}
	order(m, &ps)
	if ps.ack() != hl7v2.AA {
		return m, ps
	}
	key := sandbox + "\x00" + h.Sender + "\x00" + h.ControlID
	if !c.claim(key) {
		ps.warn("MSH", 1, 10, hl7v2.CodeDuplicateKey, "message control id %s was taken before from this sender; the message is not stored again", h.ControlID)
		return m, ps
	}
	b := &builder{m: m, h: h, loc: c.cfg.Location, ps: &ps, devices: map[string]string{},
		known: func(query string) string { return c.knownDevice(ctx, sandbox, query) }}
	msh := m.Segment("MSH")
	if ts, ok := b.time("MSH", 1, 7, msh.Field(7)); ok {
		b.msgTime = fhirTime(ts)
	} else if msh.Field(7).Empty() {
		ps.fail("MSH", 1, 7, hl7v2.CodeRequiredMissing, "MSH-7 (date/time of message) is empty")
	}
	pid := m.Segment("PID")
	ref, ids := c.findPatient(ctx, sandbox, pid, &ps)
	if ps.ack() != hl7v2.AA {
		c.forget(key)
		return m, ps
	}
	if ref == "" {
		p, query := newPatient(pid, ids)
		url := newUUID()
		b.entries = append(b.entries, obj{"fullUrl": url, "resource": p,
			"request": obj{"method": "POST", "url": "Patient", "ifNoneExist": query}})
		ref = url
	}
	b.patient = obj{"reference": ref}
	// MSH-3 (HD) names the sending gateway: namespace^universal id^type.
	b.gateway = b.deviceOf(msh.Field(3).Comp(2).String(), msh.Field(3).Comp(1).String(), "", msh.Field(3).Comp(3).String(), nil)
	b.readRows()
	var stored int
	if h.Trigger == triggerPCD04 {
		stored = b.alerts()
	} else {
		stored = b.observations()
	}
	if ps.ack() == hl7v2.AA && stored == 0 {
		ps.fail("", 0, 0, hl7v2.CodeRequiredMissing, "the message reports no observation with a value")
	}
	if ps.ack() != hl7v2.AA {
		c.forget(key)
		return m, ps
	}
	bundle, err := b.bundle()
	var resp []byte
	if err == nil {
		resp, err = c.transaction(ctx, sandbox, b.entries, bundle)
	}
	if err != nil {
		// A Device known from before may be gone: look it up again next time.
		c.forgetDevices(sandbox)
		oe := outcome.From(err)
		for _, is := range oe.Issues {
			ps.fail("", 0, 0, hl7v2.CodeInternal, "%s", issueText(is))
		}
		if len(oe.Issues) == 0 {
			ps.fail("", 0, 0, hl7v2.CodeInternal, "storing the observations failed")
		}
		c.forget(key)
		return m, ps
	}
	c.remember(key)
	c.learnDevices(sandbox, b.created, resp)
	return m, ps
}

// knownDevice is the Device/id a device's conditional create resolved to
// in sandbox before, so that later messages of the device refer to it
// without searching for it inside the write.
// The Device is read first (a read, outside the write path): one deleted
// since, or gone with its sandbox's data, is created again.
func (c *Connector) knownDevice(ctx context.Context, sandbox, query string) string {
	c.mu.Lock()
	ref := c.devices[sandbox][query]
	c.mu.Unlock()
	if ref == "" {
		return ""
	}
	if _, err := c.engine.Read(ctx, fhirstore.Sandbox(sandbox), "Device", strings.TrimPrefix(ref, "Device/")); err != nil {
		c.mu.Lock()
		delete(c.devices[sandbox], query)
		c.mu.Unlock()
		return ""
	}
	return ref
}

// learnDevices notes the Device ids a transaction's response gives the
// Device entries created (entry index → query).
func (c *Connector) learnDevices(sandbox string, created map[int]string, resp []byte) {
	if len(created) == 0 {
		return
	}
	var b struct {
		Entry []struct {
			Response struct {
				Location string `json:"location"`
			} `json:"response"`
		} `json:"entry"`
	}
	if json.Unmarshal(resp, &b) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.devices[sandbox] == nil {
		if len(c.devices) >= devicesMax {
			clear(c.devices)
		}
		c.devices[sandbox] = map[string]string{}
	}
	for i, query := range created {
		if i >= len(b.Entry) {
			continue
		}
		loc := b.Entry[i].Response.Location
		if typ, rest, ok := strings.Cut(loc, "/"); ok && typ == "Device" {
			id, _, _ := strings.Cut(rest, "/")
			if len(c.devices[sandbox]) < devicesMax {
				c.devices[sandbox][query] = "Device/" + id
			}
		}
	}
}

// forgetDevices forgets the Devices and Patients found in sandbox, for a
// transaction failed that referred to them.
func (c *Connector) forgetDevices(sandbox string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.devices, sandbox)
	delete(c.patients, sandbox)
}

func issueText(is outcome.Issue) string {
	s := is.Diagnostics
	if len(is.Expression) > 0 {
		s += " (" + is.Expression[0] + ")"
	}
	return "the FHIR store refused the mapped resources: " + s
}

// claim notes key (sandbox, sender, control id) as being processed, and
// reports false when it was taken before or is being processed now.
func (c *Connector) claim(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[key]; ok {
		return false
	}
	c.seen[key] = struct{}{}
	return true
}

// forget releases a claimed key whose message was not stored, so that
// the sender may send it again.
func (c *Connector) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, key)
}

// remember keeps a stored message's key, forgetting the oldest beyond
// seenMax.
func (c *Connector) remember(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.seenRing[c.seenNext]; old != "" {
		delete(c.seen, old)
	}
	c.seenRing[c.seenNext] = key
	c.seenNext = (c.seenNext + 1) % seenMax
}
