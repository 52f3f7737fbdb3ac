package fhirapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/bulkexport"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/exportjobs"
)

// exports runs the Bulk Data export jobs this process kicks off (their
// goroutines, which Close stops) and answers for every job in its Store,
// whichever gateway sharing the store runs it.
type exports struct {
	st exportjobs.Store
	// own: st was made here, and Close closes it.
	own bool
	// owner names this process as the runner of its jobs.
	owner string
	// beat is how often a runner says it still runs a job; a job without
	// a beat for stale is given up.
	beat, stale time.Duration
	ctx         context.Context
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	sweepOnce   sync.Once

	mu      sync.Mutex
	running map[string]context.CancelFunc
}

// Bulk Data timings.
const (
	// DefaultExportHeartbeat is how often a gateway running an export
	// says so; a job six beats late is given up.
	DefaultExportHeartbeat = 5 * time.Second
	// exportTTL is how long a finished job and its files are kept (the
	// manifest's Expires).
	exportTTL = 24 * time.Hour
	// exportSweep is how often expired jobs are deleted.
	exportSweep = 10 * time.Minute
	// progressEvery bounds how often progress is written between beats.
	progressEvery = 250 * time.Millisecond
)

func newExports(cfg Config) *exports {
	ctx, cancel := context.WithCancel(context.Background())
	x := &exports{st: cfg.ExportJobs, owner: fhirstore.NewID(), beat: cfg.ExportHeartbeat, ctx: ctx, cancel: cancel,
		running: map[string]context.CancelFunc{}}
	if x.beat <= 0 {
		x.beat = DefaultExportHeartbeat
	}
	x.stale = 6 * x.beat
	if x.st == nil {
		x.st, x.own = exportjobs.NewMemory(cfg.ExportDir), true
	}
	return x
}

// Close stops every running export and waits for it.
func (a *API) Close() error {
	a.exports.cancel()
	a.exports.wg.Wait()
	if a.exports.own {
		return a.exports.st.Close()
	}
	return nil
}

// exportKickOff serves [base]/$export, [base]/Patient/$export and
// [base]/Group/[id]/$export.
func (a *API) exportKickOff(r *request, segs []string) {
	if !preferAsync(r) {
		writeError(r.c, outcome.New(outcome.Incorrect, outcome.Required,
			"$export runs asynchronously: send Prefer: respond-async"))
		return
	}
	req := bulkexport.Request{Base: r.base()}
	switch {
	case len(segs) == 1:
		req.Level = bulkexport.System
	case len(segs) == 2 && segs[0] == "Patient":
		req.Level = bulkexport.Patient
	case len(segs) == 3 && segs[0] == "Group":
		req.Level, req.Group = bulkexport.Group, segs[1]
	default:
		writeError(r.c, outcome.New(outcome.Missing, outcome.NotSupported, "$export is served at [base], [base]/Patient and [base]/Group/[id]"))
		return
	}
	q := r.c.Request.URL.Query()
	for k := range q {
		switch k {
		case "_outputFormat", "_type", "_since":
		default:
			writeError(r.c, outcome.New(outcome.Incorrect, outcome.NotSupported, "$export parameter %s is not supported", k).At(k))
			return
		}
	}
	switch f := q.Get("_outputFormat"); f {
	case "", "application/fhir+ndjson", "application/ndjson", "ndjson":
	default:
		writeError(r.c, outcome.New(outcome.Incorrect, outcome.NotSupported, "_outputFormat %q: only application/fhir+ndjson", f).At("_outputFormat"))
		return
	}
	if s := q.Get("_since"); s != "" {
		t, err := interaction.ParseInstant(s)
		if err != nil {
			writeError(r.c, outcome.New(outcome.Incorrect, outcome.Value, "_since: %v", err).At("_since"))
			return
		}
		req.Since = t
	}
	if s := q.Get("_type"); s != "" {
		for _, t := range strings.Split(s, ",") {
			if t = strings.TrimSpace(t); !fhirjson.IsType(t) {
				writeError(r.c, outcome.New(outcome.Incorrect, outcome.Value, "_type: %q is not a resource type", t).At("_type"))
				return
			}
			req.Types = append(req.Types, strings.TrimSpace(t))
		}
	}
	if req.Level == bulkexport.Group {
		if _, err := a.store.Read(r.c.Request.Context(), r.sandbox, "Group", req.Group); err != nil {
			writeError(r.c, interaction.StoreError(err, "Group", req.Group))
			return
		}
	}
	id, err := a.exports.start(r.c.Request.Context(), a.store, string(r.sandbox), r.base()+"/"+strings.Join(segs, "/")+queryOf(r), req)
	if err != nil {
		writeError(r.c, err)
		return
	}
	r.c.Header("Content-Location", r.base()+"/$export-status/"+id)
	writeBody(r.c, http.StatusAccepted, outcome.JSON([]outcome.Issue{{Severity: outcome.Information, Code: outcome.Informational,
		Diagnostics: "export started; poll the Content-Location"}}))
}

func preferAsync(r *request) bool {
	for _, h := range r.c.Request.Header.Values("Prefer") {
		for _, p := range strings.Split(h, ",") {
			if strings.TrimSpace(p) == "respond-async" {
				return true
			}
		}
	}
	return false
}

func queryOf(r *request) string {
	if q := r.c.Request.URL.RawQuery; q != "" {
		return "?" + q
	}
	return ""
}

func (x *exports) start(ctx context.Context, store fhirstore.Reader, sandbox, request string, req bulkexport.Request) (string, error) {
	x.sweepOnce.Do(func() {
		x.wg.Add(1)
		go x.sweep()
	})
	now := time.Now()
	j := &exportjobs.Job{ID: fhirstore.NewID(), Sandbox: sandbox, Request: request, State: exportjobs.Running, Owner: x.owner,
		Heartbeat: now, Created: now, Expires: now.Add(exportTTL)}
	if err := x.st.Create(ctx, j); err != nil {
		return "", err
	}
	jctx, cancel := context.WithCancel(x.ctx)
	x.mu.Lock()
	x.running[j.ID] = cancel
	x.mu.Unlock()
	x.wg.Add(1)
	go x.run(jctx, cancel, store, j, req)
	return j.ID, nil
}

// run runs job j, beating while it does, and stores how it ended. It
// stops when the job is no longer its own to run (deleted or given up).
func (x *exports) run(ctx context.Context, cancel context.CancelFunc, store fhirstore.Reader, j *exportjobs.Job, req bulkexport.Request) {
	defer x.wg.Done()
	defer cancel()
	defer func() {
		x.mu.Lock()
		delete(x.running, j.ID)
		x.mu.Unlock()
	}()
	var (
		mu    sync.Mutex // guards j and saved
		saved time.Time
	)
	save := func(final bool) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if !final && now.Sub(saved) < progressEvery {
			return
		}
		j.Heartbeat, saved = now, now
		sctx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		if err := x.st.Save(sctx, j); errors.Is(err, exportjobs.ErrNotFound) {
			cancel()
		}
	}
	beating := make(chan struct{})
	beat := sync.WaitGroup{}
	beat.Go(func() {
		t := time.NewTicker(x.beat)
		defer t.Stop()
		for {
			select {
			case <-beating:
				return
			case <-t.C:
				save(true)
			}
		}
	})
	res, err := bulkexport.Export(ctx, store, j.Sandbox, req, exportjobs.Output(x.st, j.ID), func(done, total int) {
		mu.Lock()
		j.TypesDone, j.TypesAll = done, total
		mu.Unlock()
		save(false)
	})
	close(beating)
	beat.Wait()
	if ctx.Err() != nil && x.ctx.Err() == nil {
		return // deleted or given up: nothing to store
	}
	mu.Lock()
	switch {
	case x.ctx.Err() != nil:
		j.State, j.Error = exportjobs.Failed, "the server stopped while exporting; start the export again"
	case err != nil:
		j.State, j.Error = exportjobs.Failed, err.Error()
	default:
		j.State, j.TransactionTime, j.Files = exportjobs.Done, res.TransactionTime, res.Files
	}
	j.Expires = time.Now().Add(exportTTL)
	mu.Unlock()
	save(true)
}

// sweep deletes expired jobs until Close.
func (x *exports) sweep() {
	defer x.wg.Done()
	t := time.NewTicker(exportSweep)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(x.ctx, time.Minute)
		_, _ = x.st.Sweep(ctx, time.Now())
		cancel()
		select {
		case <-x.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// job returns sandbox's job id, nil when there is none; jobs of other
// sandboxes do not exist. A running job whose runner stopped beating is
// given up here, and returned failed.
func (x *exports) job(ctx context.Context, sandbox, id string) (*exportjobs.Job, error) {
	j, err := x.st.Job(ctx, sandbox, id)
	if errors.Is(err, exportjobs.ErrNotFound) {
		return nil, nil
	}
	if err != nil || j.State != exportjobs.Running || time.Since(j.Heartbeat) <= x.stale {
		return j, err
	}
	reason := fmt.Sprintf("the server running it stopped (no sign of it since %s); start the export again", fhirjson.FormatInstant(j.Heartbeat))
	expires := time.Now().Add(exportTTL)
	if _, err := x.st.Abandon(ctx, id, j.Heartbeat, reason, expires); err != nil {
		return nil, err
	}
	// Given up here or, in between, elsewhere; or it beat after all.
	j, err = x.st.Job(ctx, sandbox, id)
	if errors.Is(err, exportjobs.ErrNotFound) {
		return nil, nil
	}
	return j, err
}

// stop cancels job id if this process runs it.
func (x *exports) stop(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if cancel := x.running[id]; cancel != nil {
		cancel()
	}
}

type manifestJSON struct {
	TransactionTime     string           `json:"transactionTime"`
	Request             string           `json:"request"`
	RequiresAccessToken bool             `json:"requiresAccessToken"`
	Output              []manifestOutput `json:"output"`
	Error               []manifestOutput `json:"error"`
}

type manifestOutput struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int    `json:"count"`
}

// exportStatus serves GET and DELETE [base]/$export-status/[job].
func (a *API) exportStatus(r *request, segs []string) {
	ctx := r.c.Request.Context()
	job, err := a.exports.job(ctx, string(r.sandbox), segs[1])
	if err != nil {
		writeError(r.c, err)
		return
	}
	if job == nil {
		writeError(r.c, outcome.New(outcome.Missing, outcome.NotFound, "no export job %q", segs[1]))
		return
	}
	if r.c.Request.Method == http.MethodDelete {
		switch err := a.exports.st.Delete(ctx, job.Sandbox, job.ID); {
		case errors.Is(err, exportjobs.ErrNotFound):
			writeError(r.c, outcome.New(outcome.Missing, outcome.NotFound, "no export job %q", segs[1]))
			return
		case err != nil:
			writeError(r.c, err)
			return
		}
		// Its runner, here or at another gateway, stops at its next
		// beat; here at once.
		a.exports.stop(job.ID)
		r.c.Status(http.StatusAccepted)
		return
	}
	switch job.State {
	case exportjobs.Running:
		r.c.Header("X-Progress", fmt.Sprintf("%d of %d types", job.TypesDone, job.TypesAll))
		r.c.Header("Retry-After", "1")
		r.c.Status(http.StatusAccepted)
	case exportjobs.Failed:
		writeError(r.c, outcome.New(outcome.Fault, outcome.Exception, "export failed: %s", job.Error))
	default:
		m := manifestJSON{TransactionTime: fhirjson.FormatInstant(job.TransactionTime), Request: job.Request,
			RequiresAccessToken: false, Output: []manifestOutput{}, Error: []manifestOutput{}}
		for _, f := range job.Files {
			m.Output = append(m.Output, manifestOutput{Type: f.Type, URL: r.base() + "/$export-file/" + job.ID + "/" + f.Name, Count: f.Count})
		}
		body, _ := json.Marshal(m)
		r.c.Header("Expires", job.Expires.UTC().Format(http.TimeFormat))
		r.c.Data(http.StatusOK, "application/json", body)
	}
}

// exportFile serves GET [base]/$export-file/[job]/[Type].ndjson: a file
// the finished job's manifest lists, and nothing else.
func (a *API) exportFile(r *request, segs []string) {
	ctx := r.c.Request.Context()
	job, err := a.exports.job(ctx, string(r.sandbox), segs[1])
	if err != nil {
		writeError(r.c, err)
		return
	}
	name := segs[2]
	if job == nil || job.State != exportjobs.Done || !slices.ContainsFunc(job.Files, func(f bulkexport.File) bool { return f.Name == name }) {
		writeError(r.c, outcome.New(outcome.Missing, outcome.NotFound, "no such export file"))
		return
	}
	f, size, err := a.exports.st.OpenFile(ctx, job.ID, name)
	if errors.Is(err, exportjobs.ErrNotFound) {
		writeError(r.c, outcome.New(outcome.Missing, outcome.NotFound, "no such export file"))
		return
	}
	if err != nil {
		writeError(r.c, err)
		return
	}
	defer f.Close()
	r.c.DataFromReader(http.StatusOK, size, "application/fhir+ndjson", f, nil)
}
