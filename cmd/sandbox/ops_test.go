package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox/exportjobs"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

func TestMigrate_CreatesTheSchemaAndExits(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	env := map[string]string{"HPS_DATA": dir}
	if err := run([]string{"migrate"}, func(k string) string { return env[k] }, &out, &errb); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "schema is current") {
		t.Errorf("log: %s", errb.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) == 0 {
		t.Error("migrate left the data directory empty")
	}
	// Again: nothing to do, and no error.
	if err := run([]string{"migrate", "--data", dir}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

func TestMigrate_RefusesABadStoreURL(t *testing.T) {
	var out, errb bytes.Buffer
	err := run([]string{"migrate", "--store", "mysql://x/y"}, func(string) string { return "" }, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Fatalf("err %v", err)
	}
}

func TestRedactURL_HidesThePassword(t *testing.T) {
	if got := redactURL("postgres://hps:s3cret@db:5432/hps"); strings.Contains(got, "s3cret") {
		t.Errorf("redactURL kept the password: %s", got)
	}
}

func TestHealthcheck_ExitStatusFollowsTheAnswer(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, `{"status":"unavailable","failed":["store"]}`)
	}))
	defer srv.Close()
	noEnv := func(string) string { return "" }
	var out, errb bytes.Buffer
	if err := run([]string{"healthcheck", "--url", srv.URL + "/readyz"}, noEnv, &out, &errb); err != nil {
		t.Errorf("healthy server: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := run([]string{"healthcheck", "--url", srv.URL + "/readyz"}, noEnv, &out, &errb); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("unready server: %v", err)
	}
	// HPS_ADDR's port is the default target.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	status = http.StatusOK
	if err := run([]string{"healthcheck"}, func(k string) string {
		if k == "HPS_ADDR" {
			return "0.0.0.0:" + port
		}
		return ""
	}, &out, &errb); err != nil {
		t.Errorf("default URL from HPS_ADDR: %v", err)
	}
	if err := run([]string{"healthcheck", "--url", "http://" + freeAddr(t) + "/readyz", "--timeout", "2s"}, noEnv, &out, &errb); err == nil {
		t.Error("nothing listening, yet healthy")
	}
	if err := run([]string{"healthcheck", "--url", "ftp://x/"}, noEnv, &out, &errb); err == nil {
		t.Error("an ftp URL accepted")
	}
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// With --metrics-addr the series are served there, and not on the public
// listener.
func TestServe_MetricsOnTheirOwnListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	metricsAddr := freeAddr(t)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	env := map[string]string{"HPS_DATA": filepath.Join(t.TempDir(), "data"), "HPS_SEED_PATIENTS": "-1", "HPS_METRICS_ADDR": metricsAddr}
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("http://" + addr + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d", code)
	}
	code, body := get("http://" + metricsAddr + "/metrics")
	if code != http.StatusOK || !strings.Contains(body, `http_requests_total{method="GET",route="/readyz",sandbox="none",status="200"} 1`) {
		t.Errorf("/metrics: %d %.300s", code, body)
	}
	if code, _ := get("http://" + addr + "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the public listener: %d, want 404", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// With --store postgres:// migrate brings every schema the gateway keeps
// there up to date: the FHIR store's, the registry's, the request log's
// and the export jobs', so that a migration Job leaves gateways nothing to create.
func TestMigrate_OnPostgresMigratesEveryStore(t *testing.T) {
	dsn := testpg.Start(t)
	var out, errb bytes.Buffer
	env := map[string]string{"HPS_DATA": t.TempDir(), "HPS_STORE": dsn}
	if err := run([]string{"migrate"}, func(k string) string { return env[k] }, &out, &errb); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"public.resource", tenant.PostgresSchema + ".sandbox", requestlog.PostgresSchema + ".schema_version",
		exportjobs.PostgresSchema + ".jobs"} {
		var found sql.NullString
		if err := db.QueryRow(`SELECT to_regclass($1)::text`, table).Scan(&found); err != nil {
			t.Fatal(err)
		}
		if !found.Valid {
			t.Errorf("after migrate, %s does not exist", table)
		}
	}
}
