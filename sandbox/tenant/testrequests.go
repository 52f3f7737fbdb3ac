package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// ErrState: the test request is not in a state that allows what was asked
// (accepting one already accepted, approving twice, deciding a withdrawn
// one), or it changed meanwhile.
var ErrState = errors.New("tenant: not allowed in the test request's state")

// RequestState is where a test request stands.
type RequestState string

// The states of a test request: submitted → accepted → approved |
// rejected, or withdrawn before a decision. A rejected request stays open
// for further runs and a later decision; an approved or withdrawn one is
// closed.
const (
	StateSubmitted RequestState = "submitted"
	StateAccepted  RequestState = "accepted"
	StateApproved  RequestState = "approved"
	StateRejected  RequestState = "rejected"
	StateWithdrawn RequestState = "withdrawn"
)

// Verdicts of a reviewer's decision on a run.
const (
	VerdictApproved = "approved"
	VerdictRejected = "rejected"
)

// The kinds of product a test request is for.
var requestKinds = []string{"app", "device", "hub"}

// TestRequest is a supplier's request for test of a third-party product
// (an app, a device or a hub integration): the product, the profiles it
// claims to meet, and what reviewers did with it.
type TestRequest struct {
	ID       string `json:"id"`
	Supplier string `json:"supplier"`
	Product  string `json:"product"`
	// Kind is app, device or hub.
	Kind string `json:"kind"`
	// Contact is the e-mail address of the supplier's contact person.
	Contact string `json:"contact"`
	// ClaimedProfiles are the conformance profiles the supplier claims the
	// product meets.
	ClaimedProfiles []string     `json:"claimed_profiles"`
	State           RequestState `json:"state"`
	// Sandbox is the supplier's sandbox the product is tested in, bound
	// when the request is accepted; Profiles are those its runs judge.
	Sandbox  string   `json:"sandbox,omitempty"`
	Profiles []string `json:"profiles,omitempty"`
	// Runs are the conformance runs made for the request, oldest first.
	Runs []RequestRun `json:"runs"`
	// Decisions are the reviewers' verdicts on runs, oldest first.
	Decisions []Decision `json:"decisions"`
	// History records every change of state, oldest first.
	History   []StateChange `json:"history"`
	CreatedBy string        `json:"created_by"`
	Created   time.Time     `json:"created"`
	// Version counts the request's changes; a change is written only over
	// the version it was made from, so that two reviewers deciding at
	// once cannot both succeed.
	Version int `json:"version"`
}

// RequestRun is a conformance run made for a test request.
type RequestRun struct {
	ID       string    `json:"id"`
	Profile  string    `json:"profile"`
	ClientID string    `json:"client_id"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Passed   bool      `json:"passed"`
}

// Decision is a reviewer's verdict on one run of a test request.
type Decision struct {
	Run     string    `json:"run"`
	Verdict string    `json:"verdict"`
	Comment string    `json:"comment"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	// ReportSHA256 is the hex SHA-256 of the run's TestReport in
	// canonical JSON, as it stood when decided.
	ReportSHA256 string `json:"report_sha256"`
}

// StateChange is one entry of a test request's history.
type StateChange struct {
	From RequestState `json:"from,omitempty"`
	To   RequestState `json:"to"`
	By   string       `json:"by"`
	At   time.Time    `json:"at"`
	Note string       `json:"note,omitempty"`
}

// Run returns the request's run id.
func (t *TestRequest) Run(id string) (RequestRun, bool) {
	for _, r := range t.Runs {
		if r.ID == id {
			return r, true
		}
	}
	return RequestRun{}, false
}

// DecisionOn returns the decision on run id, if there is one.
func (t *TestRequest) DecisionOn(run string) (Decision, bool) {
	for _, d := range t.Decisions {
		if d.Run == run {
			return d, true
		}
	}
	return Decision{}, false
}

// SealedReport is the TestReport of an approved run, kept in the registry
// as it was approved: the evidence of record, which no write to the
// sandbox changes.
type SealedReport struct {
	Sandbox string `json:"sandbox"`
	Run     string `json:"run"`
	Request string `json:"request"`
	// Canonical is the TestReport in canonical JSON; SHA256 is its hex
	// SHA-256.
	Canonical []byte    `json:"-"`
	SHA256    string    `json:"sha256"`
	At        time.Time `json:"at"`
}

// NewTestRequest is what a supplier files.
type NewTestRequest struct {
	Product         string   `json:"product"`
	Kind            string   `json:"kind"`
	Contact         string   `json:"contact"`
	ClaimedProfiles []string `json:"claimed_profiles"`
}

// KnownProfile reports whether id is a profile of the conformance
// registry; the callers of the test request methods pass the registry's.
type KnownProfile func(id string) bool

// maxProfiles bounds the profiles a request names.
const maxProfiles = 20

func checkProfiles(field string, ids []string, known KnownProfile, need bool) ([]string, error) {
	if len(ids) == 0 && need {
		return nil, invalid(field, "name at least one profile of GET /checks")
	}
	if len(ids) > maxProfiles {
		return nil, invalid(field, "at most %d profiles", maxProfiles)
	}
	var out []string
	for i, id := range ids {
		if known == nil || !known(id) {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not a conformance profile (GET /checks lists them)", id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// FileTestRequest records a supplier's request for test. Only a supplier
// files, for its own supplier.
func (s *Service) FileTestRequest(ctx context.Context, who *Account, req NewTestRequest, known KnownProfile) (*TestRequest, error) {
	if who.Role != RoleSupplier || who.Supplier == "" {
		return nil, fmt.Errorf("%w: only a supplier's account files test requests", ErrForbidden)
	}
	t := &TestRequest{Supplier: who.Supplier, Product: strings.TrimSpace(req.Product), Kind: req.Kind,
		Contact: strings.TrimSpace(req.Contact), State: StateSubmitted, CreatedBy: who.Username,
		Runs: []RequestRun{}, Decisions: []Decision{}}
	if t.Product == "" || len(t.Product) > 200 {
		return nil, invalid("product", "name the product in 1–200 characters")
	}
	if !slices.Contains(requestKinds, t.Kind) {
		return nil, invalid("kind", "%q: want app, device or hub", t.Kind)
	}
	if a, err := mail.ParseAddress(t.Contact); err != nil || a.Address != t.Contact || len(t.Contact) > 254 {
		return nil, invalid("contact", "%q: want the e-mail address of a contact person (name@example.no)", t.Contact)
	}
	profiles, err := checkProfiles("claimed_profiles", req.ClaimedProfiles, known, true)
	if err != nil {
		return nil, err
	}
	t.ClaimedProfiles = profiles
	t.Created = s.now().UTC()
	t.ID = "tr-" + randomID(8)
	t.History = []StateChange{{To: StateSubmitted, By: who.Username, At: t.Created}}
	t.Version = 1
	if err := s.reg.CreateTestRequest(ctx, t); err != nil {
		return nil, err
	}
	s.log.Info("test request filed", "request", t.ID, "supplier", t.Supplier, "by", who.Username)
	return t, nil
}

// canSeeRequest reports whether who may see t: reviewers and operators
// all, a supplier its own supplier's.
func canSeeRequest(who *Account, t *TestRequest) bool {
	switch who.Role {
	case RoleOperator, RoleReviewer:
		return true
	case RoleSupplier:
		return who.Supplier != "" && who.Supplier == t.Supplier
	}
	return false
}

// TestRequests lists the test requests who may see, newest first.
func (s *Service) TestRequests(ctx context.Context, who *Account) ([]*TestRequest, error) {
	switch who.Role {
	case RoleOperator, RoleReviewer:
		return s.reg.TestRequests(ctx, "")
	case RoleSupplier:
		if who.Supplier == "" {
			return []*TestRequest{}, nil
		}
		return s.reg.TestRequests(ctx, who.Supplier)
	}
	return []*TestRequest{}, nil
}

// TestRequestFor returns the test request id if who may see it,
// ErrNotFound otherwise.
func (s *Service) TestRequestFor(ctx context.Context, who *Account, id string) (*TestRequest, error) {
	t, err := s.reg.TestRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if !canSeeRequest(who, t) {
		return nil, fmt.Errorf("%w: test request %q", ErrNotFound, id)
	}
	return t, nil
}

// reviewable returns the test request id if who may review it: a
// reviewer or an operator. A supplier gets ErrNotFound for another
// supplier's request and ErrForbidden for its own.
func (s *Service) reviewable(ctx context.Context, who *Account, id string) (*TestRequest, error) {
	t, err := s.TestRequestFor(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if who.Role != RoleReviewer && who.Role != RoleOperator {
		return nil, fmt.Errorf("%w: a %s does not review test requests; a reviewer or an operator does", ErrForbidden, who.Role)
	}
	return t, nil
}

// change moves t to state to, recording who and when, and writes it over
// the version it was read at.
func (s *Service) change(ctx context.Context, t *TestRequest, who *Account, to RequestState, note string, seal *SealedReport) error {
	if to != t.State {
		t.History = append(t.History, StateChange{From: t.State, To: to, By: who.Username, At: s.now().UTC(), Note: note})
		t.State = to
	}
	t.Version++
	return s.reg.UpdateTestRequest(ctx, t, seal)
}

// Acceptance binds an accepted test request to a sandbox and the
// profiles its runs judge.
type Acceptance struct {
	Sandbox string `json:"sandbox"`
	// Profiles default to the request's claimed profiles.
	Profiles []string `json:"profiles,omitempty"`
}

// AcceptTestRequest accepts a submitted request, binding it to a sandbox
// of the request's supplier and the profiles to run.
func (s *Service) AcceptTestRequest(ctx context.Context, who *Account, id string, acc Acceptance, known KnownProfile) (*TestRequest, error) {
	t, err := s.reviewable(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if t.State != StateSubmitted {
		return nil, fmt.Errorf("%w: test request %s is %s; only a submitted one is accepted", ErrState, id, t.State)
	}
	sb, err := s.reg.Sandbox(ctx, acc.Sandbox)
	if errors.Is(err, ErrNotFound) || (err == nil && sb.Supplier != t.Supplier) {
		return nil, invalid("sandbox", "%q is not a sandbox of supplier %s", acc.Sandbox, t.Supplier)
	}
	if err != nil {
		return nil, err
	}
	profiles := acc.Profiles
	if len(profiles) == 0 {
		profiles = t.ClaimedProfiles
	}
	if t.Profiles, err = checkProfiles("profiles", profiles, known, true); err != nil {
		return nil, err
	}
	t.Sandbox = sb.ID
	if err := s.change(ctx, t, who, StateAccepted, "sandbox "+sb.ID, nil); err != nil {
		return nil, err
	}
	s.log.Info("test request accepted", "request", id, "sandbox", sb.ID, "by", who.Username)
	return t, nil
}

// WithdrawTestRequest withdraws a request that no one has decided yet:
// its supplier or an operator does.
func (s *Service) WithdrawTestRequest(ctx context.Context, who *Account, id string) (*TestRequest, error) {
	t, err := s.TestRequestFor(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if who.Role == RoleReviewer {
		return nil, fmt.Errorf("%w: a reviewer decides test requests; their supplier withdraws them", ErrForbidden)
	}
	if t.State != StateSubmitted && t.State != StateAccepted {
		return nil, fmt.Errorf("%w: test request %s is %s; only a submitted or accepted one is withdrawn", ErrState, id, t.State)
	}
	if err := s.change(ctx, t, who, StateWithdrawn, "", nil); err != nil {
		return nil, err
	}
	return t, nil
}

// CheckRunnable says whether who may make a run of profile for the test
// request id, and returns the request; the caller runs the checks in
// t.Sandbox and records the run with RecordRun.
func (s *Service) CheckRunnable(ctx context.Context, who *Account, id, profile string) (*TestRequest, error) {
	t, err := s.reviewable(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if t.State != StateAccepted && t.State != StateRejected {
		return nil, fmt.Errorf("%w: test request %s is %s; runs are made for an accepted (or rejected) one", ErrState, id, t.State)
	}
	if !slices.Contains(t.Profiles, profile) {
		return nil, invalid("profile", "%q is not one of the request's profiles (%s)", profile, strings.Join(t.Profiles, ", "))
	}
	// A sandbox deleted since, whose id another supplier took, is not the
	// request's.
	sb, err := s.reg.Sandbox(ctx, t.Sandbox)
	if errors.Is(err, ErrNotFound) || (err == nil && sb.Supplier != t.Supplier) {
		return nil, fmt.Errorf("%w: the sandbox %s of test request %s was deleted", ErrState, t.Sandbox, id)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// RecordRun adds a run made in the request's sandbox to the request.
func (s *Service) RecordRun(ctx context.Context, who *Account, id string, run RequestRun) (*TestRequest, error) {
	t, err := s.CheckRunnable(ctx, who, id, run.Profile)
	if err != nil {
		return nil, err
	}
	run.By, run.At = who.Username, s.now().UTC()
	t.Runs = append(t.Runs, run)
	if err := s.change(ctx, t, who, t.State, "", nil); err != nil {
		return nil, err
	}
	return t, nil
}

// Verdict is a reviewer's decision on a run, with the run's TestReport
// as it is read now: Canonical is its canonical JSON and SHA256 the hash
// of that, which the caller computes.
type Verdict struct {
	Run       string
	Verdict   string
	Comment   string
	Canonical []byte
	SHA256    string
}

// maxComment bounds a decision's comment.
const maxComment = 4000

// DecideRun records a reviewer's verdict on a run of the request: approved
// closes the request and seals the run's report, which from then on
// cannot change; rejected leaves it open for further runs. A supplier
// cannot decide, not even on its own runs; a run is decided once.
func (s *Service) DecideRun(ctx context.Context, who *Account, id string, v Verdict) (*TestRequest, error) {
	t, err := s.reviewable(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if _, ok := t.Run(v.Run); !ok {
		return nil, invalid("run", "%q is not a run of test request %s", v.Run, id)
	}
	if v.Verdict != VerdictApproved && v.Verdict != VerdictRejected {
		return nil, invalid("verdict", "%q: want approved or rejected", v.Verdict)
	}
	comment := strings.TrimSpace(v.Comment)
	if len(comment) > maxComment {
		return nil, invalid("comment", "want at most %d characters", maxComment)
	}
	if v.Verdict == VerdictRejected && comment == "" {
		return nil, invalid("comment", "say why the run is rejected, for the supplier to fix")
	}
	if t.State != StateAccepted && t.State != StateRejected {
		return nil, fmt.Errorf("%w: test request %s is %s; it takes no more decisions", ErrState, id, t.State)
	}
	if d, ok := t.DecisionOn(v.Run); ok {
		return nil, fmt.Errorf("%w: run %s was %s by %s at %s", ErrState, v.Run, d.Verdict, d.By, d.At.Format(time.RFC3339))
	}
	if len(v.Canonical) == 0 || len(v.SHA256) != 64 {
		return nil, errors.New("tenant: a verdict needs the run's report and its hash")
	}
	now := s.now().UTC()
	t.Decisions = append(t.Decisions, Decision{Run: v.Run, Verdict: v.Verdict, Comment: comment, By: who.Username,
		At: now, ReportSHA256: v.SHA256})
	var seal *SealedReport
	to := StateRejected
	if v.Verdict == VerdictApproved {
		to = StateApproved
		seal = &SealedReport{Sandbox: t.Sandbox, Run: v.Run, Request: t.ID, Canonical: v.Canonical, SHA256: v.SHA256, At: now}
	}
	if err := s.change(ctx, t, who, to, "run "+v.Run, seal); err != nil {
		return nil, err
	}
	s.log.Info("test request decided", "request", id, "run", v.Run, "verdict", v.Verdict, "by", who.Username, "sha256", v.SHA256)
	return t, nil
}

// restoreSealed writes the sealed reports of a sandbox back into its
// FHIR store after a reset erased them: an approved report stays readable
// where it was, with the content its hash is of.
func (s *Service) restoreSealed(ctx context.Context, sandbox string) error {
	sealed, err := s.reg.SealedReports(ctx, sandbox)
	if err != nil {
		return err
	}
	for _, sr := range sealed {
		r, err := fhirjson.Parse(sr.Canonical)
		if err != nil {
			return fmt.Errorf("tenant: sealed report %s: %w", sr.Run, err)
		}
		if _, err := s.store.Create(ctx, fhirstore.Sandbox(sandbox), r, sr.Run); err != nil && !errors.Is(err, fhirstore.ErrExists) {
			return fmt.Errorf("tenant: restoring sealed report %s: %w", sr.Run, err)
		}
	}
	return nil
}

// Sealed reports whether the TestReport run of sandbox is an approved
// report, which must not change. The gateway asks it before every update
// or delete of a TestReport.
func (s *Service) Sealed(ctx context.Context, sandbox, run string) (bool, error) {
	_, err := s.reg.SealedReport(ctx, sandbox, run)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// SealedReportFor returns the sealed report of run in the request id, if
// who may see the request.
func (s *Service) SealedReportFor(ctx context.Context, who *Account, id, run string) (*SealedReport, error) {
	t, err := s.TestRequestFor(ctx, who, id)
	if err != nil {
		return nil, err
	}
	sr, err := s.reg.SealedReport(ctx, t.Sandbox, run)
	if err != nil {
		return nil, err
	}
	if sr.Request != t.ID {
		return nil, fmt.Errorf("%w: sealed report %q", ErrNotFound, run)
	}
	return sr, nil
}
