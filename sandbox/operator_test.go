package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

func TestOpen_FirstStartMakesTheOperatorOnce(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir, cfg.SeedPatients = t.TempDir(), -1
	gw := openGateway(t, cfg)
	file := filepath.Join(cfg.DataDir, operatorPasswordFile)
	st, err := os.Stat(file)
	if err != nil {
		t.Fatalf("no operator password file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v, want 0600", st.Mode().Perm())
	}
	first, _ := os.ReadFile(file)
	if len(first) < 20 {
		t.Errorf("generated password %d bytes, want a strong one", len(first))
	}
	gw.Close()
	openGateway(t, cfg).Close()
	if again, _ := os.ReadFile(file); string(again) != string(first) {
		t.Error("a restart made another operator password")
	}

	cfg.DataDir, cfg.OperatorPassword = t.TempDir(), "given-by-the-operator"
	openGateway(t, cfg)
	if _, err := os.Stat(filepath.Join(cfg.DataDir, operatorPasswordFile)); !os.IsNotExist(err) {
		t.Errorf("a password file was written although HPS_OPERATOR_PASSWORD was set: %v", err)
	}
}

func TestOpen_EveryStartSaysWhereTheGeneratedOperatorPasswordIs(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir, cfg.SeedPatients = t.TempDir(), -1
	file := filepath.Join(cfg.DataDir, operatorPasswordFile)
	start := func() string {
		var logs bytes.Buffer
		store, err := sqlite.Open(context.Background(), cfg.DataDir, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		gw, err := Open(context.Background(), cfg, store, slog.New(slog.NewJSONHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		gw.Close()
		return logs.String()
	}
	named := func(logs string) bool {
		b, _ := json.Marshal(file)
		return strings.Contains(logs, `"password_file":`+string(b))
	}
	if logs := start(); !named(logs) {
		t.Errorf("first start does not name %s:\n%s", file, logs)
	}
	if logs := start(); !named(logs) {
		t.Errorf("a restart does not name %s:\n%s", file, logs)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if logs := start(); strings.Contains(logs, "password_file") {
		t.Errorf("a start names a password file that is gone:\n%s", logs)
	}
}

func TestOpen_OperatorSignsInToTheAdminAPIAndThePortalIsServed(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir, cfg.SeedPatients, cfg.OperatorPassword = t.TempDir(), -1, "given-by-the-operator"
	srv := httptest.NewServer(openGateway(t, cfg))
	defer srv.Close()
	for _, tt := range []struct {
		user, password string
		status         int
	}{{OperatorUsername, cfg.OperatorPassword, 200}, {OperatorUsername, "wrong-password", 401}, {"", "", 401}} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/api/me", nil)
		if tt.user != "" {
			req.SetBasicAuth(tt.user, tt.password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var me map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&me)
		resp.Body.Close()
		if resp.StatusCode != tt.status || (tt.status == 200 && me["role"] != "operator") {
			t.Errorf("%s/%s: %d %v, want %d", tt.user, tt.password, resp.StatusCode, me, tt.status)
		}
	}
	resp, err := http.Get(srv.URL + "/admin/api/no-such-thing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown admin path: %d %s, want a 404 problem", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, err = noRedirect.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/portal/" {
		t.Errorf("/: %d → %q, want the portal", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Get(srv.URL + "/portal/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<form") {
		t.Errorf("portal sign-in page: %d", resp.StatusCode)
	}
}
