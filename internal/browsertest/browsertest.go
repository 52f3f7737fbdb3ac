// Package browsertest finds what the project's browser tests drive:
// headless Chromium, node and playwright-core (installed by npm in
// sandbox/testdata/browser), and where they keep screenshots. Where one is
// missing, the test skips and says how to install it (.ci/run does).
// Only tests import it.
package browsertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Chromium returns the path of a Chromium binary, or skips t, naming the
// test as what.
func Chromium(t testing.TB, what string) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium (apt-get install chromium; .ci/run installs it): skipping " + what)
	return ""
}

// Node returns the path of node and of playwright-core's index.mjs in
// browserDir (the testdata/browser directory, relative to the test's
// package), or skips t, naming the test as what.
func Node(t testing.TB, browserDir, what string) (node, playwright string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node (apt-get install nodejs; .ci/run installs it): skipping " + what)
	}
	playwright, err = filepath.Abs(filepath.Join(browserDir, "node_modules", "playwright-core", "index.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(playwright); err != nil {
		t.Skip("playwright-core is not installed (cd sandbox/testdata/browser && npm ci --legacy-peer-deps): skipping " + what)
	}
	return node, playwright
}

// Screenshots is the directory screenshots go to: $HPS_SCREENSHOTS, made
// when missing, so that they are kept; a temporary one otherwise.
func Screenshots(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HPS_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
