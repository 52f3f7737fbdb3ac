package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"hpsandbox/sandbox/requestlog"
)

// RequestLog answers queries of the request log; requestlog.Store
// implementations satisfy it.
type RequestLog interface {
	Query(ctx context.Context, f requestlog.Filter) (requestlog.Page, error)
}

// Reports keeps runs' TestReports (JSON) in a sandbox; StoreReports
// keeps them in the sandbox's FHIR store.
type Reports interface {
	// Save stores the TestReport of a run under its id.
	Save(ctx context.Context, sandbox, id string, report []byte) error
	// List returns the sandbox's TestReports, newest first, at most limit.
	List(ctx context.Context, sandbox string, limit int) ([][]byte, error)
	// Get returns the TestReport of run id, or an error wrapping
	// ErrNoRun.
	Get(ctx context.Context, sandbox, id string) ([]byte, error)
}

// ErrNoRun is wrapped by errors about a run that is not kept.
var ErrNoRun = errors.New("conformance: no such run")

// ErrBadRun is wrapped by errors about a run request that cannot be run.
var ErrBadRun = errors.New("conformance: bad run request")

// RunRequest asks for a run of a profile over a client's exchanges.
type RunRequest struct {
	ClientID string
	Profile  string
	// Since and Until bound the window (Until exclusive); a zero Until
	// is now, a zero Since is the start of the log.
	Since, Until time.Time
}

// Runner makes runs from the request log and keeps their reports.
type Runner struct {
	Registry *Registry
	Log      RequestLog
	// Reports keeps the TestReports; nil keeps none.
	Reports Reports
	// FHIRBase returns a sandbox's FHIR base URL; nil leaves it out.
	FHIRBase func(sandbox string) string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Run evaluates req in sandbox, saves its TestReport and returns the run.
func (r *Runner) Run(ctx context.Context, sandbox string, req RunRequest) (*Run, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	at := now().UTC()
	if req.ClientID == "" {
		return nil, fmt.Errorf("%w: client_id is required", ErrBadRun)
	}
	if _, ok := r.Registry.Profile(req.Profile); !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownProfile, req.Profile)
	}
	if req.Until.IsZero() {
		req.Until = at
	}
	if !req.Since.IsZero() && !req.Since.Before(req.Until) {
		return nil, fmt.Errorf("%w: since must be before until", ErrBadRun)
	}
	ev, err := r.Evidence(ctx, sandbox, req.ClientID, req.Since, req.Until)
	if err != nil {
		return nil, err
	}
	run, err := r.Registry.Evaluate(req.Profile, ev, at)
	if err != nil {
		return nil, err
	}
	if run.ID, err = newRunID(); err != nil {
		return nil, err
	}
	if r.Reports != nil {
		report, err := run.TestReport()
		if err != nil {
			return nil, err
		}
		if err := r.Reports.Save(ctx, sandbox, run.ID, report); err != nil {
			return nil, fmt.Errorf("conformance: saving the report: %w", err)
		}
	}
	return run, nil
}

// Evidence gathers from the log the exchanges of sandbox in the window
// that are clientID's or anonymous, oldest first. The log keeps a bounded
// number of entries per sandbox, so this reads at most that many.
func (r *Runner) Evidence(ctx context.Context, sandbox, clientID string, since, until time.Time) (*Evidence, error) {
	ev := &Evidence{Sandbox: sandbox, ClientID: clientID, Since: since, Until: until}
	if r.FHIRBase != nil {
		ev.FHIRBase = r.FHIRBase(sandbox)
	}
	f := requestlog.Filter{Sandbox: sandbox, Since: since, Until: until, Limit: requestlog.MaxLimit}
	for {
		page, err := r.Log.Query(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Entries {
			if e.ClientID == clientID || e.ClientID == "" {
				ev.Entries = append(ev.Entries, e)
			}
		}
		if page.Next == 0 {
			break
		}
		f.Before = page.Next
	}
	slices.Reverse(ev.Entries)
	return ev, nil
}

// newRunID is a random run id, usable as a FHIR id.
func newRunID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "run-" + hex.EncodeToString(b[:]), nil
}
