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
// It does not make tokens: it sends --token as a bearer token when given,
// so it suits open sandboxes and hub rules that take bearer tokens.
package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

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
	p, err := patient(ctx, cfg, root)
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
		ev.Status, ev.Retries, err = send(ctx, cfg, url, body)
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

func patient(ctx context.Context, cfg Config, root string) (*person, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+"/fhir/Patient/"+cfg.Persona, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	if cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.Token)
	}
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sim: reading the patient: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
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
// absent), up to cfg.MaxRetries times.
func send(ctx context.Context, cfg Config, url string, body []byte) (status, retries int, err error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, retries, err
		}
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Accept", "application/fhir+json")
		if cfg.Token != "" {
			req.Header.Set("Authorization", "Bearer "+cfg.Token)
		}
		resp, err := cfg.Client.Do(req)
		if err != nil {
			return 0, retries, fmt.Errorf("sim: %w", err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) || retries >= cfg.MaxRetries {
			return resp.StatusCode, retries, nil
		}
		wait := time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		t := time.NewTimer(min(wait, cfg.MaxWait))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, retries, ctx.Err()
		case <-t.C:
		}
		retries++
	}
}
