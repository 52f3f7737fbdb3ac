package active

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"hpsandbox/sandbox"
	"hpsandbox/sandbox/conformance"
)

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func der(t *testing.T, b []byte, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseKey_AcceptsRS384AndES384KeysOnly(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8 := func(k any) []byte { b, err := x509.MarshalPKCS8PrivateKey(k); return der(t, b, err) }
	sec1, sec1Err := x509.MarshalECPrivateKey(p384)
	pub, pubErr := x509.MarshalPKIXPublicKey(p384.Public())
	for _, tc := range []struct {
		name string
		pem  []byte
		ok   bool
	}{
		{"PKCS8_P384", pemOf("PRIVATE KEY", pkcs8(p384)), true},
		{"SEC1_P384", pemOf("EC PRIVATE KEY", der(t, sec1, sec1Err)), true},
		{"PKCS1_RSA2048", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa2048)), true},
		{"PKCS8_RSA2048", pemOf("PRIVATE KEY", pkcs8(rsa2048)), true},
		{"P256_NotES384", pemOf("PRIVATE KEY", pkcs8(p256)), false},
		{"RSA1024_TooShort", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa1024)), false},
		{"Ed25519", pemOf("PRIVATE KEY", pkcs8(ed)), false},
		{"PublicKey", pemOf("PUBLIC KEY", der(t, pub, pubErr)), false},
		{"NotPEM", []byte("not a key"), false},
		{"BrokenDER", pemOf("PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey(tc.pem)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseKey = %T, %v", k, err)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("%v does not wrap ErrConfig", err)
			}
		})
	}
}

func TestLeaks_NamesAnotherPatientsResources(t *testing.T) {
	others := map[string]bool{"Observation/o-b": true, "Patient/b": true}
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"OwnPatient", `{"resourceType":"Patient","id":"a"}`, nil},
		{"OtherPatient", `{"resourceType":"Patient","id":"c"}`, []string{"Patient/c (another Patient)"}},
		{"KnownOther", `{"resourceType":"Observation","id":"o-b","subject":{"reference":"Patient/a"}}`, []string{"Observation/o-b"}},
		{"SubjectOfAnother", `{"resourceType":"Observation","id":"o-x","subject":{"reference":"Patient/z"}}`,
			[]string{"Observation/o-x (subject Patient/z)"}},
		{"AbsolutePatientRef", `{"resourceType":"Encounter","id":"e","patient":{"reference":"http://h/fhir/Patient/z/_history/2"}}`,
			[]string{"Encounter/e (patient Patient/z)"}},
		{"OwnObservation", `{"resourceType":"Observation","id":"o-a","subject":{"reference":"Patient/a"}}`, nil},
		{"NotAPatientRef", `{"resourceType":"Observation","id":"o-a","subject":{"reference":"Group/Patient/x"}}`, nil},
		{"InABundle", `{"resourceType":"Bundle","id":"b1","entry":[{"resource":{"resourceType":"Patient","id":"a"}},` +
			`{"resource":{"resourceType":"Patient","id":"b"}}]}`, []string{"Patient/b"}},
		{"ContainedIsPartOfItsHolder", `{"resourceType":"Observation","id":"o-a","subject":{"reference":"Patient/a"},` +
			`"contained":[{"resourceType":"Patient","id":"p1"}]}`, nil},
		{"OutcomeIgnored", `{"resourceType":"OperationOutcome","id":"x","issue":[{"code":"forbidden"}]}`, nil},
		{"NotJSON", `<html>Patient/b</html>`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := leaks([]byte(tc.body), "a", others); !slices.Equal(got, tc.want) {
				t.Errorf("leaks = %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzLeaks(f *testing.F) {
	for _, s := range []string{`{"resourceType":"Patient","id":"b"}`, `[{"subject":{"reference":"Patient/"}}]`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","id":"1","patient":{"reference":"Patient/x"}}}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, l := range leaks(b, "a", map[string]bool{"Patient/b": true}) {
			if l == "" {
				t.Fatal("an empty leak")
			}
		}
	})
}

// FuzzDocuments feeds what a server answers to the suite's readers of
// Bundles and CapabilityStatements: they never panic.
func FuzzDocuments(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","total":3,"link":[{"relation":"next","url":"x"}],"entry":[{"resource":{"resourceType":"Patient","id":"1"},"search":{"mode":"match"}}]}`))
	f.Add([]byte(`{"resourceType":"CapabilityStatement","rest":[{"mode":"server","security":{},"resource":[{"type":"Patient","interaction":[{"code":"read"}],"searchParam":[{"name":"name","type":"string"}]}]}]}`))
	f.Add([]byte(`{"rest":[1,"x",{"mode":"server","resource":[null,{"type":"P","interaction":[null]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &reply{Status: 200, Header: http.Header{"Content-Type": {"application/fhir+json"}}, Body: b}
		m := r.object()
		parseBundle(m)
		c := parseCapability(m)
		for _, typ := range c.Order {
			sample(c.Resources[typ].Search, paramsSample)
		}
		_ = r.outcomeProblem()
	})
}

func FuzzParseKey(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParseKey(b); err == nil && k == nil {
			t.Fatal("no key and no error")
		}
	})
}

func TestRun_RefusesABadConfiguration(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, cfg := range map[string]Config{
		"NoTarget":            {},
		"NotHTTP":             {Base: "ftp://127.0.0.1/fhir"},
		"Relative":            {Base: "/fhir"},
		"WithQuery":           {Base: "http://127.0.0.1/fhir?x=1"},
		"WithCredentials":     {Base: "http://u:p@127.0.0.1/fhir"},
		"KeyWithoutClient":    {Base: "http://127.0.0.1/fhir", Key: key},
		"ClientWithoutKey":    {Base: "http://127.0.0.1/fhir", ClientID: "c"},
		"TokenWithoutPatient": {Base: "http://127.0.0.1/fhir", PatientToken: "t"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Run(context.Background(), cfg, ProfileServer); !errors.Is(err, ErrConfig) {
				t.Fatalf("Run = %v, want ErrConfig", err)
			}
		})
	}
	if _, err := Run(context.Background(), Config{Base: "http://127.0.0.1:1/fhir"}, "nope"); !errors.Is(err, conformance.ErrUnknownProfile) {
		t.Errorf("unknown profile: %v", err)
	}
}

func TestTests_IDsAreStableUniqueAndCite(t *testing.T) {
	reg := conformance.NewRegistry()
	var checks []conformance.Check
	for _, tc := range Tests() {
		if !strings.HasPrefix(tc.ID, "active.") {
			t.Errorf("%s is not in the active family", tc.ID)
		}
		checks = append(checks, tc.check())
	}
	// The registry refuses duplicate ids, malformed ids, no title or no
	// citation: the same rules as the passive checks.
	if err := reg.Add(checks...); err != nil {
		t.Fatal(err)
	}
	in := map[string]map[string]bool{}
	for _, p := range Profiles() {
		if err := reg.AddProfile(p); err != nil {
			t.Fatal(err)
		}
		in[p.ID] = map[string]bool{}
		for _, id := range p.Checks {
			in[p.ID][id] = true
		}
	}
	for _, tc := range Tests() {
		switch {
		case !in[ProfileServer][tc.ID]:
			t.Errorf("%s is not in the profile of every test", tc.ID)
		case !in[ProfileFHIRAPI][tc.ID] && !in[ProfileSMART][tc.ID]:
			t.Errorf("%s is in neither %s nor %s", tc.ID, ProfileFHIRAPI, ProfileSMART)
		}
	}
	for id, want := range map[string]string{"active.read-etag-version": ProfileFHIRAPI, "active.search-paging-next": ProfileFHIRAPI,
		"active.patient-scope-chain": ProfileSMART, "active.backend-rejects-wrong-aud": ProfileSMART} {
		if !in[want][id] {
			t.Errorf("%s is not in %s", id, want)
		}
	}
}

// TestRun_WithoutCredentials_SkipsWithReasons: an open sandbox tested
// without a backend client or a patient: the tests that need them skip,
// saying why, and the FHIR API is tested without a token.
func TestRun_WithoutCredentials_SkipsWithReasons(t *testing.T) {
	s := startSandbox(t, false, nil)
	run, err := Run(context.Background(), Config{Base: s.base()}, ProfileServer)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range run.Outcomes {
		id, res := o.Check.ID, o.Result
		switch {
		case strings.HasPrefix(id, "active.backend-") || strings.HasPrefix(id, "active.patient-") || id == "active.error-401-no-token":
			if res.Status != conformance.Skip || res.Message == "" {
				t.Errorf("%s: %s %q, want a skip with its reason", id, res.Status, res.Message)
			}
		default:
			if res.Status != conformance.Pass {
				t.Errorf("%s: %s %q", id, res.Status, res.Message)
			}
		}
	}
	if !run.Passed() {
		t.Error("the run failed")
	}
}

// tokenRefusedDependentsSkip: a key the server does not know
// fails the token flow, and what needs the token skips naming why.
func tokenRefusedDependentsSkip(t *testing.T, s *sandboxServer) {
	cfg := s.config()
	cfg.Key, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	cfg.SimulatedLogin = false
	run, err := Run(context.Background(), cfg, ProfileFHIRAPI)
	if err != nil {
		t.Fatal(err)
	}
	st := statuses(run)
	if st["active.backend-token-flow"] != conformance.Fail || st["active.error-401-no-token"] != conformance.Pass {
		t.Fatalf("statuses %v", st)
	}
	for _, o := range run.Outcomes {
		if strings.HasPrefix(o.Check.ID, "active.search-") &&
			(o.Result.Status != conformance.Skip || !strings.Contains(o.Result.Message, "the token endpoint answered 401")) {
			t.Errorf("%s: %s %q", o.Check.ID, o.Result.Status, o.Result.Message)
		}
	}
}

// givenPatientToken: a patient token got elsewhere (here through
// the same simulated login) drives the scope tests as well.
func givenPatientToken(t *testing.T, s *sandboxServer) {
	sess, err := newSession(Config{Base: s.base()})
	if err != nil {
		t.Fatal(err)
	}
	if res := testSMARTConfiguration(context.Background(), sess); res.Status != conformance.Pass {
		t.Fatal(res.Message)
	}
	tok, patient, err := sess.simulatedLogin(context.Background(), "persona-t1d")
	if err != nil || patient != "persona-t1d" {
		t.Fatalf("login: %q %v", patient, err)
	}
	cfg := s.config()
	cfg.SimulatedLogin, cfg.PatientToken, cfg.Patient, cfg.OtherPatient = false, tok, "persona-t1d", "persona-copd"
	run, err := Run(context.Background(), cfg, ProfileSMART)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range run.Outcomes {
		want := conformance.Pass
		if o.Check.ID == "active.patient-launch" {
			want = conformance.Skip
		}
		if o.Result.Status != want {
			t.Errorf("%s: %s %q", o.Check.ID, o.Result.Status, o.Result.Message)
		}
	}
	if !strings.Contains(resultOf(run, "active.patient-scope-read-own").Message, "Patient/persona-copd") {
		t.Error("the other patient given is not the one looked for")
	}
}

func resultOf(run *conformance.Run, id string) conformance.Result {
	for _, o := range run.Outcomes {
		if o.Check.ID == id {
			return o.Result
		}
	}
	return conformance.Result{}
}

// TestRun_NextLinkElsewhere_NotFollowed: a server whose next link points
// at another origin does not get the suite to send its token there.
func TestRun_NextLinkElsewhere_NotFollowed(t *testing.T) {
	var spied atomic.Int32
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { spied.Add(1) }))
	defer spy.Close()
	var base string
	s := startSandbox(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if bytes.Contains(body, []byte(`"searchset"`)) {
				body = bytes.ReplaceAll(body, []byte(base), []byte(spy.URL))
			}
			copyResponse(w, rec.Code, rec.Header(), body)
		})
	})
	base = s.srv.URL
	run, err := Run(context.Background(), s.config(), ProfileFHIRAPI)
	if err != nil {
		t.Fatal(err)
	}
	res := resultOf(run, "active.search-paging-next")
	if res.Status != conformance.Fail || !strings.Contains(res.Message, "not on the server under test") {
		t.Errorf("paging: %s %q", res.Status, res.Message)
	}
	if n := spied.Load(); n != 0 {
		t.Errorf("the other origin got %d requests", n)
	}
}

func TestReply_OutcomeProblem(t *testing.T) {
	oo, _ := json.Marshal(map[string]any{"resourceType": "OperationOutcome", "issue": []any{map[string]any{"code": "not-found"}}})
	for _, tc := range []struct {
		name, ct, body string
		ok             bool
	}{
		{"FHIRJSON", "application/fhir+json; charset=utf-8", string(oo), true},
		{"JSON", "application/json", string(oo), true},
		{"HTML", "text/html", string(oo), false},
		{"NoIssue", "application/fhir+json", `{"resourceType":"OperationOutcome"}`, false},
		{"Patient", "application/fhir+json", `{"resourceType":"Patient"}`, false},
		{"Garbage", "application/fhir+json", `{`, false},
	} {
		r := &reply{Header: http.Header{"Content-Type": {tc.ct}}, Body: []byte(tc.body)}
		if got := r.outcomeProblem(); (got == "") != tc.ok {
			t.Errorf("%s: %q", tc.name, got)
		}
	}
}

// rs384Key: the backend tests pass with an RSA key (RS384) too.
func rs384Key(t *testing.T, s *sandboxServer) {
	cfg := s.config()
	cfg.Key, cfg.SimulatedLogin = backendRSAKey(), false
	run, err := Run(context.Background(), cfg, ProfileSMART)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range run.Outcomes {
		if strings.HasPrefix(o.Check.ID, "active.backend-") && o.Result.Status != conformance.Pass {
			t.Errorf("%s: %s %q", o.Check.ID, o.Result.Status, o.Result.Message)
		}
	}
}

// TestRun_SimulatedLogin_WithoutLoginAndConsentPages: a sandbox that
// leaves the login and consent pages out still shows the patient
// picker, which the simulated login answers.
func TestRun_SimulatedLogin_WithoutLoginAndConsentPages(t *testing.T) {
	s := startSandbox(t, true, nil, func(c *sandbox.Config) { c.SkipLogin, c.SkipConsent = true, true })
	run, err := Run(context.Background(), s.config(), ProfileSMART)
	if err != nil {
		t.Fatal(err)
	}
	res := resultOf(run, "active.patient-launch")
	if res.Status != conformance.Pass || !slices.ContainsFunc(res.Evidence, func(e string) bool { return strings.Contains(e, "/auth/select-patient") }) {
		t.Fatalf("patient-launch: %s %q %q", res.Status, res.Message, res.Evidence)
	}
	if !run.Passed() {
		t.Error("the run failed")
	}
}

// TestRun_UndeclaredInteractionServed_Fails: a CapabilityStatement that
// declares less than the server serves fails the consistency test.
func TestRun_UndeclaredInteractionServed_Fails(t *testing.T) {
	var first string
	s := startSandbox(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if r.URL.Path == "/fhir/metadata" {
				var cs map[string]any
				if err := json.Unmarshal(body, &cs); err != nil {
					t.Error(err)
				}
				rest := list(cs, "rest")[0].(map[string]any)
				r0 := list(rest, "resource")[0].(map[string]any)
				first = str(r0, "type")
				var kept []any
				for _, i := range list(r0, "interaction") {
					if str(i.(map[string]any), "code") != "history-type" {
						kept = append(kept, i)
					}
				}
				r0["interaction"] = kept
				body, _ = json.Marshal(cs)
			}
			copyResponse(w, rec.Code, rec.Header(), body)
		})
	})
	run, err := Run(context.Background(), s.config(), ProfileFHIRAPI)
	if err != nil {
		t.Fatal(err)
	}
	res := resultOf(run, "active.capability-undeclared-refused")
	if res.Status != conformance.Fail || !strings.Contains(res.Message, "history-type is not declared for "+first) {
		t.Errorf("%s %q", res.Status, res.Message)
	}
}
