package sandbox

import (
	"os"
	"path/filepath"
	"testing"
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
