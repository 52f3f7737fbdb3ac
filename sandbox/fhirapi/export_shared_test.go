package fhirapi_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox/exportjobs"
	"hpsandbox/sandbox/fhirapi"
)

// jobStores are the shared export job stores two gateways are tested on.
var jobStores = []struct {
	name string
	open func(t *testing.T) exportjobs.Store
}{
	{"sqlite", func(t *testing.T) exportjobs.Store {
		st, err := exportjobs.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "exports.db"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"postgres", func(t *testing.T) exportjobs.Store {
		st, err := exportjobs.OpenPostgres(context.Background(), testpg.Start(t))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// twoGateways serves the FHIR API twice over one FHIR store and one export
// job store, as two gateways of a deployment; X-Sandbox names the
// sandbox (the default when absent).
func twoGateways(t *testing.T, jobs exportjobs.Store, beat time.Duration) (a, b *gin.Engine) {
	t.Helper()
	return twoGatewaysWith(t, jobs, beat)
}

func twoGatewaysF(f *testing.F, jobs exportjobs.Store) (a, b *gin.Engine) {
	f.Helper()
	return twoGatewaysWith(f, jobs, 0)
}

func twoGatewaysWith(t testing.TB, jobs exportjobs.Store, beat time.Duration) (a, b *gin.Engine) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{SearchTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	gin.SetMode(gin.ReleaseMode)
	sandboxOf := func(c *gin.Context) string {
		if s := c.GetHeader("X-Sandbox"); s != "" {
			return s
		}
		return fhirstore.DefaultSandbox
	}
	var es [2]*gin.Engine
	for i := range es {
		api := fhirapi.New(store, fhirapi.Config{MaxBodyBytes: testMaxBody, ExportJobs: jobs, ExportHeartbeat: beat})
		t.Cleanup(func() { api.Close() })
		es[i] = gin.New()
		api.Mount(es[i].Group("/fhir"), sandboxOf)
	}
	return es[0], es[1]
}

// A client kicks off at gateway A and polls, downloads and deletes at
// gateway B: the same manifest and files as one gateway gives.
func TestExport_KickOffAtOneGatewayPollFetchAndDeleteAtAnother(t *testing.T) {
	for _, js := range jobStores {
		t.Run(js.name, func(t *testing.T) {
			jobs := js.open(t)
			t.Cleanup(func() { jobs.Close() })
			a, b := twoGateways(t, jobs, 0)
			exportSeed(t, a)
			for _, tt := range []struct{ path, want string }{
				{"/fhir/$export", "map[Group:[g] Observation:[none oa ob] Organization:[org] Patient:[a b]]"},
				{"/fhir/Group/g/$export", "map[Group:[g] Observation:[oa] Patient:[a]]"},
			} {
				if got := fmtMap(runExportAt(t, a, b, tt.path)); got != tt.want {
					t.Errorf("%s kicked off at A, fetched at B: %s, want %s", tt.path, got, tt.want)
				}
			}
			rec := mustDo(t, a, call{method: "GET", path: "/fhir/$export", header: map[string]string{"Prefer": "respond-async"}}, http.StatusAccepted)
			status, _ := url.Parse(rec.Header().Get("Content-Location"))
			mustDo(t, b, call{method: "DELETE", path: status.Path}, http.StatusAccepted)
			for name, gw := range map[string]*gin.Engine{"A": a, "B": b} {
				mustDo(t, gw, call{method: "GET", path: status.Path}, http.StatusNotFound)
				mustDo(t, gw, call{method: "DELETE", path: status.Path}, http.StatusNotFound)
				_ = name
			}
		})
	}
}

// finished kicks off an export at gw, waits for it and returns its status
// path and the path of its Patient file.
func finished(t *testing.T, gw http.Handler) (status, file string) { return finishedF(t, gw) }

func finishedF(t testing.TB, gw http.Handler) (status, file string) {
	t.Helper()
	rec := mustDo(t, gw, call{method: "GET", path: "/fhir/$export?_type=Patient", header: map[string]string{"Prefer": "respond-async"}}, http.StatusAccepted)
	u, _ := url.Parse(rec.Header().Get("Content-Location"))
	for i := 0; ; i++ {
		if rec = do(t, gw, call{method: "GET", path: u.Path}); rec.Code == http.StatusOK {
			break
		}
		if i > 500 {
			t.Fatalf("status: %d %s", rec.Code, rec.Body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return u.Path, strings.Replace(u.Path, "$export-status", "$export-file", 1) + "/Patient.ndjson"
}

// Another sandbox's job at another gateway, a guessed job, and names
// that are not the job's files all do not exist.
func TestExport_OtherSandboxGuessedIDsAndStrayNamesAreNotFound(t *testing.T) {
	for _, js := range jobStores {
		t.Run(js.name, func(t *testing.T) {
			jobs := js.open(t)
			t.Cleanup(func() { jobs.Close() })
			a, b := twoGateways(t, jobs, 0)
			exportSeed(t, a)
			status, file := finished(t, a)
			mustDo(t, b, call{method: "GET", path: file}, http.StatusOK)
			other := map[string]string{"X-Sandbox": "other"}
			for _, c := range []call{
				{method: "GET", path: status, header: other},
				{method: "GET", path: file, header: other},
				{method: "DELETE", path: status, header: other},
				{method: "GET", path: "/fhir/$export-status/" + fhirstore.NewID()},
				{method: "GET", path: "/fhir/$export-file/" + fhirstore.NewID() + "/Patient.ndjson"},
				{method: "GET", path: strings.TrimSuffix(file, "Patient.ndjson") + "Observation.ndjson"},
				{method: "GET", path: strings.TrimSuffix(file, "Patient.ndjson") + "..%2FPatient.ndjson"},
				{method: "GET", path: strings.TrimSuffix(file, "Patient.ndjson") + "..%2F..%2Fexports.db"},
				{method: "GET", path: strings.TrimSuffix(file, "Patient.ndjson") + "Patient.ndjson%00"},
				{method: "GET", path: strings.TrimSuffix(file, "Patient.ndjson") + "Patient"},
			} {
				if rec := do(t, b, c); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "OperationOutcome") {
					t.Errorf("%s %s %v: %d %s, want 404 OperationOutcome", c.method, c.path, c.header, rec.Code, rec.Body)
				}
			}
			// The other sandbox's DELETE left the job.
			mustDo(t, a, call{method: "GET", path: status}, http.StatusOK)
		})
	}
}

// A job whose gateway stopped beating (it crashed) is reported failed,
// saying to start again, by the gateway polling it; one that beats is
// running; one past its expiry does not exist.
func TestExport_JobOfAStoppedGatewayFails_ExpiredIsGone(t *testing.T) {
	for _, js := range jobStores {
		t.Run(js.name, func(t *testing.T) {
			jobs := js.open(t)
			t.Cleanup(func() { jobs.Close() })
			_, b := twoGateways(t, jobs, 20*time.Millisecond)
			ctx := context.Background()
			now := time.Now()
			for _, j := range []*exportjobs.Job{
				{ID: "crashed", Heartbeat: now.Add(-time.Minute), Expires: now.Add(time.Hour)},
				{ID: "alive", Heartbeat: now.Add(time.Minute), Expires: now.Add(time.Hour)},
				{ID: "expired", State: exportjobs.Done, Heartbeat: now.Add(-time.Hour), Expires: now.Add(-time.Second)},
			} {
				j.Sandbox, j.Request, j.Owner, j.Created = fhirstore.DefaultSandbox, "http://x/fhir/$export", "gateway-a", now.Add(-time.Hour)
				if j.State == "" {
					j.State = exportjobs.Running
				}
				if err := jobs.Create(ctx, j); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 2 {
				rec := do(t, b, call{method: "GET", path: "/fhir/$export-status/crashed"})
				if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"OperationOutcome"`) ||
					!strings.Contains(rec.Body.String(), "start the export again") {
					t.Errorf("poll %d of a job whose gateway stopped: %d %s, want 500 OperationOutcome saying to start again", i, rec.Code, rec.Body)
				}
			}
			if j, err := jobs.Job(ctx, fhirstore.DefaultSandbox, "crashed"); err != nil || j.State != exportjobs.Failed {
				t.Errorf("stored: %+v, %v; want failed", j, err)
			}
			if rec := do(t, b, call{method: "GET", path: "/fhir/$export-status/alive"}); rec.Code != http.StatusAccepted || rec.Header().Get("X-Progress") == "" {
				t.Errorf("a job that beats: %d %v", rec.Code, rec.Header())
			}
			mustDo(t, b, call{method: "GET", path: "/fhir/$export-status/expired"}, http.StatusNotFound)
		})
	}
}

// blockingStore blocks every search until its context ends, as an export
// in the middle of a long type.
type blockingStore struct {
	fhirstore.Store
	searching chan struct{}
	// stopped, when set, is told that the search was given up.
	stopped chan struct{}
}

func (s blockingStore) Search(ctx context.Context, sb fhirstore.Sandbox, q fhirstore.SearchQuery) (*fhirstore.SearchPage, error) {
	select {
	case s.searching <- struct{}{}:
	default:
	}
	<-ctx.Done()
	if s.stopped != nil {
		select {
		case s.stopped <- struct{}{}:
		default:
		}
	}
	return nil, ctx.Err()
}

// A job deleted at gateway B while gateway A runs it stops at A's next
// beat, and leaves nothing behind.
func TestExport_DeleteAtAnotherGatewayStopsTheRunner(t *testing.T) {
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	jobs, err := exportjobs.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "exports.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer jobs.Close()
	bs := blockingStore{Store: store, searching: make(chan struct{}, 1), stopped: make(chan struct{}, 1)}
	gw := func(s fhirstore.Store) *gin.Engine {
		api := fhirapi.New(s, fhirapi.Config{MaxBodyBytes: testMaxBody, ExportJobs: jobs, ExportHeartbeat: 20 * time.Millisecond})
		t.Cleanup(func() { api.Close() })
		e := gin.New()
		api.Mount(e.Group("/fhir"), func(*gin.Context) string { return fhirstore.DefaultSandbox })
		return e
	}
	a, b := gw(bs), gw(store)
	rec := mustDo(t, a, call{method: "GET", path: "/fhir/$export", header: map[string]string{"Prefer": "respond-async"}}, http.StatusAccepted)
	u, _ := url.Parse(rec.Header().Get("Content-Location"))
	<-bs.searching
	if rec := do(t, b, call{method: "GET", path: u.Path}); rec.Code != http.StatusAccepted || rec.Header().Get("X-Progress") == "" {
		t.Errorf("status at B while A runs it: %d %v", rec.Code, rec.Header())
	}
	mustDo(t, b, call{method: "DELETE", path: u.Path}, http.StatusAccepted)
	select {
	case <-bs.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the runner at A still runs 5 s after the job was deleted at B")
	}
	mustDo(t, a, call{method: "GET", path: u.Path}, http.StatusNotFound)
}

// A gateway that shuts down while exporting leaves the job failed, saying
// to start again, not running until its beat is missed.
func TestExport_ShutdownMidExportLeavesItFailed(t *testing.T) {
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	jobs := exportjobs.NewMemory(t.TempDir())
	bs := blockingStore{Store: store, searching: make(chan struct{}, 1)}
	api := fhirapi.New(bs, fhirapi.Config{MaxBodyBytes: testMaxBody, ExportJobs: jobs})
	e := gin.New()
	api.Mount(e.Group("/fhir"), func(*gin.Context) string { return fhirstore.DefaultSandbox })
	rec := mustDo(t, e, call{method: "GET", path: "/fhir/$export", header: map[string]string{"Prefer": "respond-async"}}, http.StatusAccepted)
	id := rec.Header().Get("Content-Location")
	id = id[strings.LastIndex(id, "/")+1:]
	<-bs.searching
	api.Close()
	j, err := jobs.Job(context.Background(), fhirstore.DefaultSandbox, id)
	if err != nil || j.State != exportjobs.Failed || !strings.Contains(j.Error, "start the export again") {
		t.Errorf("after shutdown: %+v, %v; want failed, saying to start again", j, err)
	}
}

// FuzzExportPaths asks for arbitrary job ids and file names, of a gateway
// sharing an SQL job store with one finished job: only that job's own
// file is served; everything else is an OperationOutcome (404, or the
// router's 400 or 501 for a malformed path), never a 500, never a panic.
func FuzzExportPaths(f *testing.F) {
	jobs, err := exportjobs.OpenSQLite(context.Background(), filepath.Join(f.TempDir(), "exports.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer jobs.Close()
	a, b := twoGatewaysF(f, jobs)
	for _, c := range []call{
		{method: "PUT", path: "/fhir/Patient/a", body: `{"resourceType":"Patient","id":"a"}`},
	} {
		mustDo(f, a, c, http.StatusCreated)
	}
	status, file := finishedF(f, a)
	id := status[strings.LastIndex(status, "/")+1:]
	for _, s := range [][2]string{{id, "Patient.ndjson"}, {id, "../Patient.ndjson"}, {id, "Observation.ndjson"}, {"x", "Patient.ndjson"},
		{id + "/..", "Patient.ndjson"}, {"", ""}, {id, "Patient.ndjson\x00"}, {"..", "exports.db"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, job, name string) {
		path := "/fhir/$export-file/" + url.PathEscape(job) + "/" + url.PathEscape(name)
		rec := do(t, b, call{method: "GET", path: path})
		own := "/fhir/$export-file/" + id + "/Patient.ndjson"
		switch {
		case rec.Code == http.StatusOK:
			if path != own || file != own {
				t.Fatalf("GET %s served a file", path)
			}
		case rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect:
			// gin cleaning the path; the cleaned path is asked again.
		case rec.Code == http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "OperationOutcome"):
			// The router refuses malformed paths before the export
			// code (400, 501); the rest is 404.
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		rec = do(t, b, call{method: "GET", path: "/fhir/$export-status/" + url.PathEscape(job)})
		if rec.Code == http.StatusInternalServerError || (rec.Code == http.StatusOK && job != id) {
			t.Fatalf("status of %q: %d %s", job, rec.Code, rec.Body)
		}
	})
}
