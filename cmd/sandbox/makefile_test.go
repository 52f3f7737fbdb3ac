package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeRun is the command `make run` would start, with the given variables
// and environment (make -n prints it without running anything).
func makeRun(t *testing.T, env []string, vars ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed (apt-get install make)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", append([]string{"-n", "-s", "-C", root, "run"}, vars...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n run: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "bin/sandbox serve") {
			return strings.Join(strings.Fields(line), " ")
		}
	}
	t.Fatalf("make -n run starts no server:\n%s", out)
	return ""
}

func TestMakeRun_EnvironmentAndMakeVariablesBothChooseAddressAndData(t *testing.T) {
	tests := []struct {
		name      string
		env, vars []string
		want      string // the serve command's flags
	}{
		{"defaults come from the server", nil, nil, "serve"},
		{"environment is left to the server", []string{"HPS_ADDR=127.0.0.1:9123", "HPS_DATA=/tmp/elsewhere"}, nil, "serve"},
		{"make variables become flags", nil, []string{"ADDR=127.0.0.1:9124", "DATA=/tmp/there"}, "serve --addr 127.0.0.1:9124 --data /tmp/there"},
		{"redis", nil, []string{"REDIS_URL=redis://127.0.0.1:6390/0"}, "serve --redis-url redis://127.0.0.1:6390/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := makeRun(t, append([]string{"ADDR=", "DATA="}, tt.env...), tt.vars...)
			if !strings.HasSuffix(cmd, tt.want) {
				t.Errorf("make run starts %q, want it to end in %q", cmd, tt.want)
			}
		})
	}
}
