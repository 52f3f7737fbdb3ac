package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config says which sandbox the app launches against and as whom.
type Config struct {
	// FHIRBase is the sandbox's FHIR base; discovery is below it.
	FHIRBase string
	// ClientID is the app's registration, a public client.
	ClientID string
	// RedirectURL is the app's /callback.
	RedirectURL string
}

// scopes are what the app asks for in a standalone launch: a patient
// picked at launch, who the user is, and read access to that patient's
// Observations. An EHR launch asks for "launch" instead of
// "launch/patient": the EHR says which patient.
var scopes = []string{"launch/patient", "openid", "fhirUser", "patient/Observation.rs"}

var ehrScopes = []string{"launch", "openid", "fhirUser", "patient/Observation.rs"}

// app is the SMART app: "/" starts a standalone launch, "/launch" is its
// launch URL for an EHR launch, "/callback" finishes either and shows the
// vital signs.
type app struct {
	cfg      Config
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	client   *http.Client
	mu       sync.Mutex
	pending  map[string]launch // by state
}

// launch is what the app remembers between redirecting to the
// authorization server and the callback.
type launch struct {
	verifier, nonce string
	started         time.Time
}

// newApp reads the sandbox's SMART configuration (authorize and token
// endpoints) and its OpenID configuration (to verify id_tokens).
func newApp(ctx context.Context, cfg Config) (*app, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	var disc struct {
		Issuer    string `json:"issuer"`
		Authorize string `json:"authorization_endpoint"`
		Token     string `json:"token_endpoint"`
	}
	if err := getJSON(ctx, client, cfg.FHIRBase+"/.well-known/smart-configuration", "", &disc); err != nil {
		return nil, fmt.Errorf("SMART discovery at %s: %w", cfg.FHIRBase, err)
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), disc.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OpenID discovery at %s: %w", disc.Issuer, err)
	}
	a := &app{
		cfg: cfg,
		oauth: &oauth2.Config{
			ClientID: cfg.ClientID, RedirectURL: cfg.RedirectURL, Scopes: scopes,
			Endpoint: oauth2.Endpoint{AuthURL: disc.Authorize, TokenURL: disc.Token, AuthStyle: oauth2.AuthStyleInParams},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		client:   client,
		pending:  map[string]launch{},
	}
	return a, nil
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/":
		a.start(w, r, "", a.oauth)
	case "/launch":
		a.launchFromEHR(w, r)
	case "/callback":
		a.callback(w, r)
	default:
		http.NotFound(w, r)
	}
}

// launchFromEHR is the app's launch URL: an EHR sends the browser here
// with iss (its FHIR base) and launch (the context it holds). The app only
// follows launches from the sandbox it was configured for.
func (a *app) launchFromEHR(w http.ResponseWriter, r *http.Request) {
	iss, launchID := r.URL.Query().Get("iss"), r.URL.Query().Get("launch")
	if iss != a.cfg.FHIRBase || launchID == "" {
		a.fail(w, http.StatusBadRequest, fmt.Errorf("launched by %q; this app only follows launches from %s", iss, a.cfg.FHIRBase))
		return
	}
	conf := *a.oauth
	conf.Scopes = ehrScopes
	a.start(w, r, launchID, &conf)
}

// start redirects the browser to the authorization server with a fresh
// state, nonce and PKCE verifier, aud set to the FHIR base, and the EHR's
// launch id if any.
func (a *app) start(w http.ResponseWriter, r *http.Request, launchID string, conf *oauth2.Config) {
	l := launch{verifier: oauth2.GenerateVerifier(), nonce: rand.Text(), started: time.Now()}
	state := rand.Text()
	a.mu.Lock()
	for s, p := range a.pending { // forget launches never finished
		if time.Since(p.started) > 10*time.Minute {
			delete(a.pending, s)
		}
	}
	a.pending[state] = l
	a.mu.Unlock()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(l.verifier),
		oauth2.SetAuthURLParam("aud", a.cfg.FHIRBase), oidc.Nonce(l.nonce)}
	if launchID != "" {
		opts = append(opts, oauth2.SetAuthURLParam("launch", launchID))
	}
	http.Redirect(w, r, conf.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback exchanges the code, verifies the id_token and shows the vitals.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	l, ok := a.pending[q.Get("state")]
	delete(a.pending, q.Get("state"))
	a.mu.Unlock()
	if !ok {
		a.fail(w, http.StatusBadRequest, errors.New("unknown or reused state; start again"))
		return
	}
	if e := q.Get("error"); e != "" {
		a.fail(w, http.StatusForbidden, fmt.Errorf("authorization refused: %s %s", e, q.Get("error_description")))
		return
	}
	ctx := oidc.ClientContext(r.Context(), a.client)
	tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(l.verifier))
	if err != nil {
		a.fail(w, http.StatusBadGateway, fmt.Errorf("token exchange: %w", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil || idt.Nonce != l.nonce {
		a.fail(w, http.StatusBadGateway, fmt.Errorf("the id_token does not verify (nonce match %v): %v", idt != nil && idt.Nonce == l.nonce, err))
		return
	}
	var claims struct {
		FHIRUser string `json:"fhirUser"`
	}
	_ = idt.Claims(&claims)
	patient, _ := tok.Extra("patient").(string)
	if patient == "" {
		a.fail(w, http.StatusBadGateway, errors.New("the token response names no patient"))
		return
	}
	vitals, err := a.vitalSigns(r.Context(), tok.AccessToken, patient)
	if err != nil {
		a.fail(w, http.StatusBadGateway, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]any{"User": claims.FHIRUser, "Patient": patient, "Vitals": vitals})
}

// vital is one row of the page.
type vital struct {
	When, What, Value string
}

// vitalSigns searches the patient's vital-sign Observations, newest first.
func (a *app) vitalSigns(ctx context.Context, token, patient string) ([]vital, error) {
	u := a.cfg.FHIRBase + "/Observation?" + url.Values{
		"patient": {patient}, "category": {"vital-signs"}, "_sort": {"-date"}, "_count": {"50"},
	}.Encode()
	var bundle struct {
		Entry []struct {
			Resource struct {
				EffectiveDateTime string `json:"effectiveDateTime"`
				Code              struct {
					Text   string `json:"text"`
					Coding []struct {
						Code, Display string
					} `json:"coding"`
				} `json:"code"`
				ValueQuantity *struct {
					Value float64 `json:"value"`
					Unit  string  `json:"unit"`
				} `json:"valueQuantity"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := getJSON(ctx, a.client, u, token, &bundle); err != nil {
		return nil, fmt.Errorf("reading vital signs: %w", err)
	}
	var out []vital
	for _, e := range bundle.Entry {
		o := e.Resource
		v := vital{When: o.EffectiveDateTime, What: o.Code.Text}
		if v.What == "" && len(o.Code.Coding) > 0 {
			v.What = o.Code.Coding[0].Display
			if v.What == "" {
				v.What = o.Code.Coding[0].Code
			}
		}
		if o.ValueQuantity != nil {
			v.Value = fmt.Sprintf("%g %s", o.ValueQuantity.Value, o.ValueQuantity.Unit)
		}
		out = append(out, v)
	}
	return out, nil
}

func (a *app) fail(w http.ResponseWriter, status int, err error) {
	http.Error(w, err.Error(), status)
}

// getJSON GETs u (with a bearer token when given) and decodes the answer.
func getJSON(ctx context.Context, client *http.Client, u, token string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/fhir+json, application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

var page = template.Must(template.New("vitals").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vital signs</title></head>
<body>
<h1>Vital signs of Patient/{{.Patient}}</h1>
<p>Signed in as {{.User}}.</p>
<table>
<tr><th>When</th><th>What</th><th>Value</th></tr>
{{range .Vitals}}<tr><td>{{.When}}</td><td>{{.What}}</td><td>{{.Value}}</td></tr>
{{else}}<tr><td colspan="3">No vital signs recorded.</td></tr>
{{end}}</table>
</body></html>
`))
