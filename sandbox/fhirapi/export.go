package fhirapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/bulkexport"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

// exports owns the Bulk Data export jobs of an API: their goroutines (which
// Close stops), their state, and their files under dir. Job state lives in
// memory; a restart forgets jobs, as a client polling a status URL then
// learns (404).
type exports struct {
	dir    string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	jobs   map[string]*exportJob
}

type exportJob struct {
	id, sandbox, request string
	cancel               context.CancelFunc
	done                 bool
	typesDone, typesAll  int
	result               *bulkexport.Result
	err                  error
}

func newExports(dir string) *exports {
	ctx, cancel := context.WithCancel(context.Background())
	return &exports{dir: dir, ctx: ctx, cancel: cancel, jobs: map[string]*exportJob{}}
}

// Close stops every running export and waits for it.
func (a *API) Close() error {
	a.exports.cancel()
	a.exports.wg.Wait()
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
	job, err := a.exports.start(a.store, string(r.sandbox), r.base()+"/"+strings.Join(segs, "/")+queryOf(r), req)
	if err != nil {
		writeError(r.c, err)
		return
	}
	r.c.Header("Content-Location", r.base()+"/$export-status/"+job.id)
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

func (x *exports) start(store fhirstore.Reader, sandbox, request string, req bulkexport.Request) (*exportJob, error) {
	if x.dir == "" {
		dir, err := os.MkdirTemp("", "hps-exports-")
		if err != nil {
			return nil, err
		}
		x.dir = dir
	}
	ctx, cancel := context.WithCancel(x.ctx)
	job := &exportJob{id: fhirstore.NewID(), sandbox: sandbox, request: request, cancel: cancel}
	x.mu.Lock()
	x.jobs[job.id] = job
	x.mu.Unlock()
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		defer cancel()
		res, err := bulkexport.Run(ctx, store, sandbox, req, x.jobDir(job.id), func(done, total int) {
			x.mu.Lock()
			job.typesDone, job.typesAll = done, total
			x.mu.Unlock()
		})
		x.mu.Lock()
		job.done, job.result, job.err = true, res, err
		x.mu.Unlock()
	}()
	return job, nil
}

func (x *exports) jobDir(id string) string { return filepath.Join(x.dir, id) }

// job returns a job of the sandbox; jobs of other sandboxes do not exist.
func (x *exports) job(sandbox, id string) *exportJob {
	x.mu.Lock()
	defer x.mu.Unlock()
	if j := x.jobs[id]; j != nil && j.sandbox == sandbox {
		return j
	}
	return nil
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
	job := a.exports.job(string(r.sandbox), segs[1])
	if job == nil {
		writeError(r.c, outcome.New(outcome.Missing, outcome.NotFound, "no export job %q", segs[1]))
		return
	}
	if r.c.Request.Method == http.MethodDelete {
		job.cancel()
		a.exports.mu.Lock()
		delete(a.exports.jobs, job.id)
		a.exports.mu.Unlock()
		_ = os.RemoveAll(a.exports.jobDir(job.id))
		r.c.Status(http.StatusAccepted)
		return
	}
	a.exports.mu.Lock()
	done, res, err := job.done, job.result, job.err
	progress := fmt.Sprintf("%d of %d types", job.typesDone, job.typesAll)
	a.exports.mu.Unlock()
	switch {
	case !done:
		r.c.Header("X-Progress", progress)
		r.c.Header("Retry-After", "1")
		r.c.Status(http.StatusAccepted)
	case err != nil:
		writeError(r.c, outcome.New(outcome.Fault, outcome.Exception, "export failed: %v", err))
	default:
		m := manifestJSON{TransactionTime: fhirjson.FormatInstant(res.TransactionTime), Request: job.request,
			RequiresAccessToken: false, Output: []manifestOutput{}, Error: []manifestOutput{}}
		for _, f := range res.Files {
			m.Output = append(m.Output, manifestOutput{Type: f.Type, URL: r.base() + "/$export-file/" + job.id + "/" + f.Name, Count: f.Count})
		}
		body, _ := json.Marshal(m)
		r.c.Header("Expires", time.Now().Add(24*time.Hour).UTC().Format(http.TimeFormat))
		r.c.Data(http.StatusOK, "application/json", body)
	}
}

// exportFile serves GET [base]/$export-file/[job]/[Type].ndjson.
func (a *API) exportFile(r *request, segs []string) {
	job := a.exports.job(string(r.sandbox), segs[1])
	name := segs[2]
	if job == nil || !strings.HasSuffix(name, ".ndjson") || !fhirjson.IsType(strings.TrimSuffix(name, ".ndjson")) {
		writeError(r.c, outcome.New(outcome.Missing, outcome.NotFound, "no such export file"))
		return
	}
	f, err := os.Open(filepath.Join(a.exports.jobDir(job.id), name))
	if errors.Is(err, os.ErrNotExist) {
		writeError(r.c, outcome.New(outcome.Missing, outcome.NotFound, "no such export file"))
		return
	}
	if err != nil {
		writeError(r.c, err)
		return
	}
	defer f.Close()
	fi, _ := f.Stat()
	r.c.DataFromReader(http.StatusOK, fi.Size(), "application/fhir+ndjson", f, nil)
}
