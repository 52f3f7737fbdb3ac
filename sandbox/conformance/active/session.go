package active

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"hpsandbox/sandbox/conformance"
)

// maxBody bounds what the suite reads of one answer.
const maxBody = 8 << 20

// Session is one run's state: what the tests found so far (the server's
// discovery documents, tokens, patients) and the evidence of the test
// running.
type Session struct {
	cfg  Config
	base string
	http *http.Client
	now  func() time.Time

	smart *smartConfig
	caps  *capability

	// token is the backend access token; noToken says why there is none.
	token, noToken string
	// assertion is the client assertion the token was got with, which
	// the replay test sends again.
	assertion string
	// open is set when the server answered a FHIR search without a token.
	open bool

	patientToken, patient, noPatient string
	otherPatient, noOther            string
	// otherRefs are "Type/id" of resources of otherPatient's compartment
	// that the backend token found, for the leak tests to look for.
	otherRefs map[string]bool

	evidence []string
	requests int
}

func newSession(cfg Config) (*Session, error) {
	base, err := cleanBase(cfg.Base)
	if err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, base: base, http: cfg.HTTP, now: cfg.Now,
		patientToken: cfg.PatientToken, patient: cfg.Patient, otherPatient: cfg.OtherPatient,
		noToken: "no backend client: --client-id and --key", noPatient: "--patient-token and --patient, or --simulated-login",
		noOther: "no backend token"}
	if cfg.PatientToken != "" && cfg.Patient == "" {
		return nil, fmt.Errorf("%w: a patient token needs --patient, the id of its patient", ErrConfig)
	}
	if cfg.Key == nil && cfg.ClientID != "" || cfg.Key != nil && cfg.ClientID == "" {
		return nil, fmt.Errorf("%w: --client-id and --key go together", ErrConfig)
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: 30 * time.Second}
	}
	// The suite reads redirects itself (the authorize flow) and never
	// sends a token to where a redirect points.
	c := *s.http
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.http = &c
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.Scope == "" {
		s.cfg.Scope = "system/*.rs"
	}
	if s.cfg.LoginClient == "" {
		s.cfg.LoginClient = "sandbox-demo"
	}
	return s, nil
}

// reply is a server's answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// request is one request a test sends.
type request struct {
	Method, URL string
	// Token is sent as a bearer token when not empty.
	Token       string
	ContentType string
	Accept      string
	Body        string
}

// send sends req and records it as evidence: "GET url → 404". A relative
// URL is resolved against the FHIR base.
func (s *Session) send(ctx context.Context, req request) (*reply, error) {
	target := req.URL
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		target = s.base + "/" + strings.TrimLeft(target, "/")
	}
	var body io.Reader
	if req.Body != "" {
		body = strings.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, target, body)
	if err != nil {
		s.evidence = append(s.evidence, fmt.Sprintf("%s %s → %v", req.Method, target, err))
		return nil, err
	}
	accept := req.Accept
	if accept == "" {
		accept = "application/fhir+json"
	}
	hr.Header.Set("Accept", accept)
	if req.ContentType != "" {
		hr.Header.Set("Content-Type", req.ContentType)
	}
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	s.requests++
	resp, err := s.http.Do(hr)
	if err != nil {
		s.evidence = append(s.evidence, fmt.Sprintf("%s %s → no answer", req.Method, target))
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		s.evidence = append(s.evidence, fmt.Sprintf("%s %s → %d, body unreadable", req.Method, target, resp.StatusCode))
		return nil, err
	}
	s.evidence = append(s.evidence, fmt.Sprintf("%s %s → %d", req.Method, target, resp.StatusCode))
	return &reply{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// get reads a FHIR URL with the backend token (if any).
func (s *Session) get(ctx context.Context, u string) (*reply, error) {
	return s.send(ctx, request{Method: http.MethodGet, URL: u, Token: s.token})
}

// postForm posts an x-www-form-urlencoded form (to the token endpoint).
func (s *Session) postForm(ctx context.Context, u string, form url.Values) (*reply, error) {
	return s.send(ctx, request{Method: http.MethodPost, URL: u, ContentType: "application/x-www-form-urlencoded",
		Accept: "application/json", Body: form.Encode()})
}

// object decodes the answer as a JSON object; nil when it is not one.
func (r *reply) object() map[string]any {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m
}

// mediaType is the answer's media type without parameters.
func (r *reply) mediaType() string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

// isJSON says whether the answer is declared as FHIR JSON or JSON.
func (r *reply) isJSON() bool {
	mt := r.mediaType()
	return mt == "application/fhir+json" || mt == "application/json"
}

// outcomeProblem says what keeps the answer from being an
// OperationOutcome in FHIR JSON with an issue, or "".
func (r *reply) outcomeProblem() string {
	if !r.isJSON() {
		return fmt.Sprintf("the body is %q, not application/fhir+json", r.Header.Get("Content-Type"))
	}
	m := r.object()
	if m == nil {
		return "the body is not a JSON object"
	}
	if m["resourceType"] != "OperationOutcome" {
		return fmt.Sprintf("the body is a %v, not an OperationOutcome", m["resourceType"])
	}
	if issues, _ := m["issue"].([]any); len(issues) == 0 {
		return "the OperationOutcome has no issue"
	}
	return ""
}

// str is m[k] as a string.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// list is m[k] as a list.
func list(m map[string]any, k string) []any {
	l, _ := m[k].([]any)
	return l
}

// obj is m[k] as an object.
func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}

// pass, fail and skip make Results.
func pass(format string, args ...any) conformance.Result {
	return result(conformance.Pass, format, args...)
}
func fail(format string, args ...any) conformance.Result {
	return result(conformance.Fail, format, args...)
}
func skip(format string, args ...any) conformance.Result {
	return result(conformance.Skip, format, args...)
}

func result(st conformance.Status, format string, args ...any) conformance.Result {
	return conformance.Result{Status: st, Message: fmt.Sprintf(format, args...)}
}
