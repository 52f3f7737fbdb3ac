package fhirapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fixtures"
	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox/exportjobs"
	"hpsandbox/sandbox/fhirapi"
)

// BenchmarkExport_SeededSandbox exports a sandbox seeded as `sandbox serve`
// seeds one (personas and 50 patients) through each job store, from the
// kick-off to the last file downloaded, and reports the bytes exported.
func BenchmarkExport_SeededSandbox(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	rs, err := fixtures.Generate(fixtures.Options{Seed: 1, Patients: 50, Personas: true})
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, len(rs))
	for i, r := range rs {
		bodies[i] = r.Body
	}
	if err := fhirstore.Load(ctx, store, fhirstore.DefaultSandbox, bodies, fhirstore.LoadOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, js := range []struct {
		name string
		open func() exportjobs.Store
	}{
		{"memory", func() exportjobs.Store { return exportjobs.NewMemory(filepath.Join(b.TempDir(), "exports")) }},
		{"sqlite", func() exportjobs.Store {
			st, err := exportjobs.OpenSQLite(ctx, filepath.Join(b.TempDir(), "exports.db"))
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"postgres", func() exportjobs.Store {
			st, err := exportjobs.OpenPostgres(ctx, testpg.Start(b))
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	} {
		b.Run(js.name, func(b *testing.B) {
			jobs := js.open()
			defer jobs.Close()
			api := fhirapi.New(store, fhirapi.Config{ExportJobs: jobs})
			defer api.Close()
			gin.SetMode(gin.ReleaseMode)
			e := gin.New()
			api.Mount(e.Group("/fhir"), func(*gin.Context) string { return fhirstore.DefaultSandbox })
			srv := httptest.NewServer(e)
			defer srv.Close()
			var bytes int64
			for b.Loop() {
				bytes = exportOnce(b, srv.URL)
			}
			b.ReportMetric(float64(bytes), "bytes/export")
		})
	}
}

// exportOnce runs a system-level export over HTTP and downloads its files.
func exportOnce(b *testing.B, base string) int64 {
	req, _ := http.NewRequest(http.MethodGet, base+"/fhir/$export", nil)
	req.Header.Set("Prefer", "respond-async")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		b.Fatalf("kick-off: %v %v", resp, err)
	}
	resp.Body.Close()
	status := resp.Header.Get("Content-Location")
	var manifest struct{ Output []struct{ URL string } }
	for {
		resp, err := http.Get(status)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK {
			err := json.NewDecoder(resp.Body).Decode(&manifest)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			break
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("status: %d", resp.StatusCode)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var n int64
	for _, o := range manifest.Output {
		u, _ := url.Parse(o.URL)
		resp, err := http.Get(base + u.Path)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("file %s: %v %v", o.URL, resp, err)
		}
		k, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		n += k
	}
	req, _ = http.NewRequest(http.MethodDelete, status, nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if n == 0 {
		b.Fatal("nothing exported")
	}
	return n
}
