package requestlog_test

import (
	"context"
	"path/filepath"
	"testing"

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

func openSQLite(t testing.TB, path string, perSandboxMax int) *requestlog.SQLiteStore {
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
