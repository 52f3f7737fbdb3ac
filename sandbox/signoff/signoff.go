// Package signoff is the review of suppliers' test requests: it runs a
// request's conformance checks in the sandbox bound to it, reads a run's
// report as the request holds it (the sealed copy once approved), records
// a reviewer's verdict with the SHA-256 of the report's canonical JSON,
// and compares two runs of a request check by check.
//
// The rules of who may do what and the states of a request are package
// tenant's; checks, reports, hashes and diffs are package conformance's.
// This package puts the two together once for the admin API and the
// portal, which call it. It knows nothing of HTTP.
package signoff

import (
	"context"
	"errors"
	"fmt"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/tenant"
)

// Service reviews test requests. Both fields are required.
type Service struct {
	Tenants *tenant.Service
	// Runner makes the runs; its Reports must keep them.
	Runner *conformance.Runner
}

// Known reports whether id is a profile of the runner's registry.
func (s Service) Known(id string) bool {
	_, ok := s.Runner.Registry.Profile(id)
	return ok
}

// Run judges req in the sandbox of the test request id, if who may review
// it and req's profile is one of the request's, and records the run in the
// request.
func (s Service) Run(ctx context.Context, who *tenant.Account, id string, req conformance.RunRequest) (*conformance.Run, *tenant.TestRequest, error) {
	t, err := s.Tenants.CheckRunnable(ctx, who, id, req.Profile)
	if err != nil {
		return nil, nil, err
	}
	run, err := s.Runner.Run(ctx, t.Sandbox, req)
	if err != nil {
		return nil, nil, err
	}
	t, err = s.Tenants.RecordRun(ctx, who, id, tenant.RequestRun{ID: run.ID, Profile: req.Profile, ClientID: req.ClientID, Passed: run.Passed()})
	if err != nil {
		return nil, nil, err
	}
	return run, t, nil
}

// Report returns the TestReport of run in the request t, which who may
// see: the sealed copy once the run is approved (the bytes its hash is
// of), else what the sandbox's store holds. A run that is not the
// request's is conformance.ErrNoRun, whichever sandbox it is of.
func (s Service) Report(ctx context.Context, who *tenant.Account, t *tenant.TestRequest, run string) ([]byte, error) {
	if _, ok := t.Run(run); !ok {
		return nil, fmt.Errorf("%w: %q is not a run of test request %s", conformance.ErrNoRun, run, t.ID)
	}
	sealed, err := s.Tenants.SealedReportFor(ctx, who, t.ID, run)
	switch {
	case err == nil:
		return sealed.Canonical, nil
	case !errors.Is(err, tenant.ErrNotFound):
		return nil, err
	}
	if s.Runner.Reports == nil {
		return nil, fmt.Errorf("%w: %q (no reports are kept)", conformance.ErrNoRun, run)
	}
	return s.Runner.Reports.Get(ctx, t.Sandbox, run)
}

// ParsedReport is Report, read back as a run.
func (s Service) ParsedReport(ctx context.Context, who *tenant.Account, t *tenant.TestRequest, run string) (*conformance.Run, error) {
	b, err := s.Report(ctx, who, t, run)
	if err != nil {
		return nil, err
	}
	return conformance.ParseTestReport(b, t.Sandbox, s.Runner.Registry)
}

// Decide records who's verdict (approved or rejected) with comment on run
// of the request id, hashing the run's report as it stands; approving
// seals it. A supplier decides nothing, not even on its own runs.
func (s Service) Decide(ctx context.Context, who *tenant.Account, id, run, verdict, comment string) (*tenant.TestRequest, error) {
	t, err := s.Tenants.TestRequestFor(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if who.Role != tenant.RoleReviewer && who.Role != tenant.RoleOperator {
		return nil, fmt.Errorf("%w: a %s does not decide on runs; a reviewer or an operator does", tenant.ErrForbidden, who.Role)
	}
	b, err := s.Report(ctx, who, t, run)
	if err != nil {
		return nil, err
	}
	canonical, sum, err := conformance.ContentHash(b)
	if err != nil {
		return nil, err
	}
	return s.Tenants.DecideRun(ctx, who, id, tenant.Verdict{Run: run, Verdict: verdict, Comment: comment, Canonical: canonical, SHA256: sum})
}

// Comparison is two runs of a request and their diff.
type Comparison struct {
	From, To *conformance.Run
	Checks   []conformance.CheckDiff
	Counts   map[conformance.Change]int
}

// Compare compares the runs from and to of the request t, which who may
// see; both must be the request's.
func (s Service) Compare(ctx context.Context, who *tenant.Account, t *tenant.TestRequest, from, to string) (*Comparison, error) {
	a, err := s.ParsedReport(ctx, who, t, from)
	if err != nil {
		return nil, err
	}
	b, err := s.ParsedReport(ctx, who, t, to)
	if err != nil {
		return nil, err
	}
	diff := conformance.Diff(a, b)
	return &Comparison{From: a, To: b, Checks: diff, Counts: conformance.DiffCounts(diff)}, nil
}
