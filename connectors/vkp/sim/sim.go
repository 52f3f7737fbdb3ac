// Package sim simulates a welfare-technology supplier: it sends realistic
// streams of events for one of the sandbox's patients through the hub's
// real HTTP API (connectors/vkp), as a supplier's platform would, retrying
// throttled and unavailable answers after their Retry-After. It is what
// `sandbox vkp simulate` runs.
//
// Two streams: a night of a fall-sensor patient (door and bed sensors,
// a fall alarm whose Composition goes from reported through handled and
// acknowledged to journaled, a planned camera supervision, the morning's
// medicine dispenser), for personas with welfare technology
// (persona-home-care); and a week of home measurements (blood pressure,
// weight, heart rate, SpO2, body temperature) for the others
// (persona-copd, persona-heart-failure, …).
//
// With a client (ClientID and Key) it is a HelseID client, as the hub's
// access rule demands: it gets DPoP-bound access tokens with
// client_credentials, a private_key_jwt assertion (at most 60 s, a
// single-use jti) and a DPoP proof of a key made for the run, and sends
// every request with Authorization: DPoP and a fresh proof, following the
// server's use_dpop_nonce challenges with the nonce they give. Token, a
// bearer token, is for a sandbox whose app is not DPoP-bound; without
// either it suits an open sandbox.
package sim

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hpsandbox/connectors/helseid/client"
	"hpsandbox/connectors/nin"
	"hpsandbox/connectors/vkp"
	"hpsandbox/fixtures"
)

// Config is one simulation.
type Config struct {
	// Target is the server's root URL, e.g. http://127.0.0.1:8080.
	Target string
	// Sandbox is the sandbox's id ("default" for the default sandbox).
	Sandbox string
	// Persona is the Patient id to send events about.
	Persona string
	// Events is how many submissions to send.
	Events int
	// OrgNumber is the receiving municipality's; empty: the patient's
	// municipality (its address).
	OrgNumber string
	// Token, when set, is sent as a bearer token.
	Token string
	// ClientID and Key (RSA, or ECDSA on P-256 or P-384), when set, make
	// the simulation a HelseID client of the sandbox's authorization
	// server with DPoP-bound tokens; KeyID names the key in the client's
	// JWKS (empty: its RFC 7638 thumbprint). Scope is what it asks for
	// (empty: DefaultScope).
	ClientID string
	Key      crypto.Signer
	KeyID    string
	Scope    string
	// Seed makes the stream repeatable.
	Seed uint64
	// Start is the evening before the first event (zero: for a night, last
	// evening; for measurements, so that the last falls on today).
	Start time.Time
	// MaxRetries bounds the retries of one submission; MaxWait the wait
	// before one (a longer Retry-After is cut to it).
	MaxRetries int
	MaxWait    time.Duration
	Client     *http.Client
}

// Event is one submission sent and its answer.
type Event struct {
	At      time.Time
	Kind    vkp.Kind
	What    string
	Status  int
	Retries int
	// NonceRetries counts the sends again after use_dpop_nonce.
	NonceRetries int
}

// DefaultScope is what a HelseID client of the simulation asks for: the
// hub's write scopes of every kind it sends, and the read of the patient.
const DefaultScope = "nhn:vkp/api/user/DetectedIssue.write nhn:vkp/api/user/Encounter.write nhn:vkp/api/user/Composition.write " +
	"nhn:vkp/api/user/MedicationDispense.write nhn:vkp/api/user/Observation.write nhn:vkp/api/user/QuestionnaireResponse.write " +
	"system/Patient.rs"

// maxNonceRetries bounds the nonce challenges one request follows.
const maxNonceRetries = 3

// sender sends the simulation's requests with its credentials.
type sender struct {
	cfg Config
	hid *client.Client // nil: bearer or no token
}

// do sends the request made by newReq, authorized, following up to
// maxNonceRetries use_dpop_nonce challenges; the body is read.
func (s *sender) do(newReq func() (*http.Request, error)) (resp *http.Response, body []byte, nonceRetries int, err error) {
	for {
		req, err := newReq()
		if err != nil {
			return nil, nil, nonceRetries, err
		}
		switch {
		case s.hid != nil:
			if err := authorize(s.hid, req); err != nil {
				return nil, nil, nonceRetries, err
			}
		case s.cfg.Token != "":
			req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
		}
		resp, err := s.cfg.Client.Do(req)
		if err != nil {
			return nil, nil, nonceRetries, fmt.Errorf("sim: %w", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if s.hid == nil || !s.hid.KeepNonce(resp, body) || nonceRetries >= maxNonceRetries {
			return resp, body, nonceRetries, nil
		}
		nonceRetries++
	}
}

// Run sends the stream and reports each event to report (nil: none). It
// returns the events; an error ends it early (a refusal of a submission is
// not an error: its status is in the event).
func Run(ctx context.Context, cfg Config, report func(Event)) ([]Event, error) {
	if cfg.Events <= 0 || cfg.Events > 100_000 {
		return nil, errors.New("sim: events must be 1 to 100000")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 10 * time.Second
	}
	root := strings.TrimSuffix(cfg.Target, "/")
	if cfg.Sandbox != "" && cfg.Sandbox != "default" {
		root += "/sandboxes/" + cfg.Sandbox
	}
	s := &sender{cfg: cfg}
	switch {
	case cfg.Key != nil && cfg.Token != "":
		return nil, errors.New("sim: give a client (--client-id and --key) for DPoP-bound tokens or a bearer --token, not both")
	case cfg.Key != nil && cfg.ClientID == "":
		return nil, errors.New("sim: a client key needs its client id")
	case cfg.Key != nil:
		if s.cfg.Scope == "" {
			s.cfg.Scope = DefaultScope
		}
		hid, err := newHelseID(ctx, s.cfg, root)
		if err != nil {
			return nil, err
		}
		s.hid = hid
	}
	p, err := patient(ctx, s, root)
	if err != nil {
		return nil, err
	}
	if cfg.OrgNumber == "" {
		cfg.OrgNumber = p.orgNumber
	}
	if cfg.OrgNumber == "" {
		return nil, fmt.Errorf("sim: %s has no municipality in its address; name the receiver with --orgnr", cfg.Persona)
	}
	start := cfg.Start
	if start.IsZero() {
		// The night that ended this morning; the measurements of the
		// week that ends today.
		days := -1
		if !p.welfare {
			days = -(cfg.Events + 4) / 5
		}
		y, m, d := time.Now().In(oslo).AddDate(0, 0, days).Date()
		start = time.Date(y, m, d, 21, 30, 0, 0, oslo)
	}
	g := &stream{r: rand.New(rand.NewPCG(cfg.Seed, 0x5ea)), p: p, t: start}
	next := g.measurement
	if p.welfare {
		next = g.night
	}
	url := root + "/connectors/vkp" + vkp.Base + "/" + cfg.OrgNumber + "/Bundle"
	var events []Event
	for range cfg.Events {
		ev, body := next()
		ev.Status, ev.Retries, ev.NonceRetries, err = send(ctx, s, url, body)
		if err != nil {
			return events, err
		}
		events = append(events, ev)
		if report != nil {
			report(ev)
		}
	}
	return events, nil
}

// oslo is Norway's zone; every time sent carries its offset.
var oslo = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Oslo"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
}()

// person is what the simulation knows of its patient.
type person struct {
	system, nin, name, orgNumber string
	welfare                      bool
}

func patient(ctx context.Context, s *sender, root string) (*person, error) {
	cfg := s.cfg
	resp, body, _, err := s.do(func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+"/fhir/Patient/"+cfg.Persona, nil)
		if err == nil {
			req.Header.Set("Accept", "application/fhir+json")
		}
		return req, err
	})
	if err != nil {
		return nil, fmt.Errorf("sim: reading the patient: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sim: reading Patient/%s: status %d", cfg.Persona, resp.StatusCode)
	}
	var pat struct {
		Identifier []struct{ System, Value string }
		Name       []struct {
			Family string
			Given  []string
		}
		Address []struct {
			Extension []struct {
				URL         string
				ValueCoding struct{ Code string }
			}
		}
	}
	if err := json.Unmarshal(body, &pat); err != nil {
		return nil, fmt.Errorf("sim: Patient/%s: %w", cfg.Persona, err)
	}
	p := &person{welfare: cfg.Persona == "persona-home-care"}
	for _, id := range pat.Identifier {
		if id.System == nin.SystemFNR || id.System == nin.SystemDNR {
			p.system, p.nin = id.System, id.Value
		}
	}
	if p.nin == "" {
		return nil, fmt.Errorf("sim: Patient/%s has no national identity number", cfg.Persona)
	}
	if len(pat.Name) > 0 {
		p.name = strings.TrimSpace(strings.Join(pat.Name[0].Given, " ") + " " + pat.Name[0].Family)
	}
	for _, a := range pat.Address {
		for _, e := range a.Extension {
			for _, m := range fixtures.Municipalities() {
				if e.ValueCoding.Code == m.Code {
					p.orgNumber = m.OrgNumber
				}
			}
		}
	}
	return p, nil
}

// send posts body, retrying 429 and 503 after their Retry-After (1 s when
// absent), up to cfg.MaxRetries times, and following nonce challenges.
func send(ctx context.Context, s *sender, url string, body []byte) (status, retries, nonceRetries int, err error) {
	cfg := s.cfg
	for {
		resp, _, n, err := s.do(func() (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/fhir+json")
				req.Header.Set("Accept", "application/fhir+json")
			}
			return req, err
		})
		nonceRetries += n
		if err != nil {
			return 0, retries, nonceRetries, err
		}
		if (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) || retries >= cfg.MaxRetries {
			return resp.StatusCode, retries, nonceRetries, nil
		}
		wait := time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		t := time.NewTimer(min(wait, cfg.MaxWait))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, retries, nonceRetries, ctx.Err()
		case <-t.C:
		}
		retries++
	}
}
