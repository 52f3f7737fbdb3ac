package requestlog_test

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/requestlog/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, perSandboxMax int) requestlog.Store {
		return requestlog.NewMemoryStore(perSandboxMax)
	})
}

func TestSQLiteStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, perSandboxMax int) requestlog.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "requestlog.db"), perSandboxMax)
	})
}

func openSQLite(t testing.TB, path string, perSandboxMax int) *requestlog.SQLStore {
	t.Helper()
	s, err := requestlog.OpenSQLite(context.Background(), path, perSandboxMax)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestSQLiteStore_Reopen_KeepsEntriesAndAppliesSmallerBound(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "requestlog.db")
	s, err := requestlog.OpenSQLite(ctx, path, 10)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]requestlog.Entry, 8)
	for i := range batch {
		batch[i] = requestlog.Entry{Sandbox: "a", Method: "GET", Path: "/fhir/metadata", Status: 200}
	}
	if err := s.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openSQLite(t, path, 5)
	p, err := s.Query(ctx, requestlog.Filter{Sandbox: "a", Limit: 100})
	if err != nil || len(p.Entries) != 8 {
		t.Fatalf("after reopening: %d entries, %v; want the 8 written", len(p.Entries), err)
	}
	next := []requestlog.Entry{{Sandbox: "a", Method: "GET", Path: "/fhir/Patient", Status: 200}}
	if err := s.Append(ctx, next); err != nil {
		t.Fatal(err)
	}
	if next[0].ID <= batch[7].ID {
		t.Fatalf("ID %d after reopening is not above %d", next[0].ID, batch[7].ID)
	}
	p, err = s.Query(ctx, requestlog.Filter{Sandbox: "a", Limit: 100})
	if err != nil || len(p.Entries) != 5 || p.Entries[0].ID != next[0].ID {
		t.Fatalf("after an append under the smaller bound: %d entries, %v; want the newest 5", len(p.Entries), err)
	}
}

func TestOpenSQLite_NewerSchema_Refuses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "requestlog.db")
	s := openSQLite(t, path, 10)
	if err := s.Append(ctx, []requestlog.Entry{{Sandbox: "a"}}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	if s, err := requestlog.OpenSQLite(ctx, path, 10); err == nil {
		s.Close()
		t.Fatal("opened a file of a newer schema")
	}
}

// A log file written before entries named their connector and channel
// holds chunks without those keys: they read as exchanges of the FHIR API,
// and the file needs no migration.
func TestSQLiteStore_ChunkWithoutConnectorKeys_ReadsAsFHIRAPI(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "requestlog.db")
	s := openSQLite(t, path, 10)
	in := []requestlog.Entry{{Sandbox: "a", Method: "POST", Path: "/Observation", Status: 201,
		Connector: "example", Channel: requestlog.ChannelHTTP}}
	if err := s.Append(ctx, in); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE chunks SET body = json_remove(body, '$[0].k', '$[0].n')`)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("rewriting the chunk as an older binary wrote it: %d rows, %v", n, err)
	}
	p, err := s.Query(ctx, requestlog.Filter{Sandbox: "a"})
	if err != nil || len(p.Entries) != 1 {
		t.Fatalf("Query: %d entries, %v", len(p.Entries), err)
	}
	if e := p.Entries[0]; e.Connector != "" || e.Channel != "" || e.Path != "/Observation" || e.Status != 201 {
		t.Fatalf("old chunk read as %+v, want the entry without connector and channel", e)
	}
}

// TestSQLiteStore_BoundCutsThroughChunks: the SQL store writes an
// append's entries of a sandbox as one chunk; the bound hides the oldest
// entries of a chunk it cuts through, and paging crosses chunks exactly.
func TestSQLiteStore_BoundCutsThroughChunks(t *testing.T) {
	s, err := requestlog.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "log.db"), 7)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testBoundCutsThroughChunks(t, s)
}

func testBoundCutsThroughChunks(t *testing.T, s requestlog.Store) {
	ctx := context.Background()
	var want []int64 // sandbox a's ids, oldest first
	for batch := 0; batch < 6; batch++ {
		entries := make([]requestlog.Entry, 5)
		for i := range entries {
			entries[i] = requestlog.Entry{Sandbox: []string{"a", "b"}[i%2], Time: time.Unix(int64(batch*10+i), 0),
				Method: "GET", Path: "/fhir/Patient", Status: 200}
		}
		if err := s.Append(ctx, entries); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Sandbox == "a" {
				want = append(want, e.ID)
			}
		}
	}
	want = want[len(want)-7:]
	for _, limit := range []int{1, 2, 3, 7, 50} {
		var got []int64
		f := requestlog.Filter{Sandbox: "a", Limit: limit}
		for pages := 0; pages < 20; pages++ {
			p, err := s.Query(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Entries {
				got = append([]int64{e.ID}, got...)
			}
			if p.Next == 0 {
				break
			}
			f.Before = p.Next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("limit %d: ids %v, want the newest seven %v", limit, got, want)
		}
	}
}

// Connectors record evidence through this package without an HTTP server:
// it must not depend on gin (the gateway's middleware is package ginlog).
func TestPackage_DoesNotDependOnGin(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list dependencies with")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/gin-gonic/") || strings.HasPrefix(dep, "net/http") {
			t.Errorf("requestlog depends on %s", dep)
		}
	}
}
