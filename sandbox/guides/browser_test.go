package guides_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/internal/browsertest"
)

// TestBrowser_GuidesRenderInChromium opens the index, a guide, a search
// and the API reference in headless Chromium (playwright-core, as the
// portal's browser test does), fails on any console error or failed
// request (the pages load nothing from elsewhere), and keeps screenshots
// in $HPS_SCREENSHOTS when set.
func TestBrowser_GuidesRenderInChromium(t *testing.T) {
	const what = "the guides' screenshots"
	chromium := browsertest.Chromium(t, what)
	node, pw := browsertest.Node(t, "../testdata/browser", what)
	shots := browsertest.Screenshots(t)
	base := startSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/screenshots.mjs", base, shots)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "PLAYWRIGHT_CORE="+pw)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("screenshots.mjs: %v\n%s%s", err, out, stderr)
	}
	var res struct{ Titles []string }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("screenshots.mjs printed %q: %v", out, err)
	}
	want := []string{"HP Sandbox guides", "Searching", "Searching", "Search", "API reference"}
	if len(res.Titles) != len(want) {
		t.Fatalf("titles %q", res.Titles)
	}
	for i, w := range want {
		if !strings.HasPrefix(res.Titles[i], w+" · ") {
			t.Errorf("page %d is titled %q, want %q", i, res.Titles[i], w)
		}
	}
	for _, name := range []string{"guides-index", "guides-searching", "guides-searching-section", "guides-search", "guides-api"} {
		if fi, err := os.Stat(filepath.Join(shots, name+".png")); err != nil || fi.Size() < 10_000 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
}
