package guides_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGuides_LinksResolve: no guide links to a guide, an anchor or a
// repository file that is not there, and every link to the server
// (/guides/api, /openapi.json, /fhir/metadata) answers 200.
func TestGuides_LinksResolve(t *testing.T) {
	set := loadGuides(t)
	byFile := map[string]map[string]bool{set.Index.File: set.Index.Anchors}
	for _, g := range set.Guides {
		byFile[g.File] = g.Anchors
	}
	var serverPaths []string
	for _, g := range append(set.Guides, set.Index) {
		for _, l := range g.Links {
			u, err := url.Parse(l)
			if err != nil {
				t.Errorf("%s: link %q: %v", g.File, l, err)
				continue
			}
			switch {
			case u.Scheme != "":
				// Specifications and other sites: not fetched by tests.
			case strings.HasPrefix(u.Path, "/"):
				serverPaths = append(serverPaths, g.File+" "+l)
			case u.Path == "" || strings.HasSuffix(u.Path, ".md") && !strings.Contains(u.Path, "/"):
				file := u.Path
				if file == "" {
					file = g.File
				}
				anchors, ok := byFile[file]
				switch {
				case !ok:
					t.Errorf("%s: link %q: there is no guide %s", g.File, l, file)
				case u.Fragment != "" && !anchors[u.Fragment]:
					t.Errorf("%s: link %q: %s has no heading with anchor #%s", g.File, l, file, u.Fragment)
				}
			default:
				if _, err := os.Stat(filepath.FromSlash(u.Path)); err != nil {
					t.Errorf("%s: link %q: no such file in the repository (%v)", g.File, l, err)
				}
			}
		}
	}
	if len(serverPaths) == 0 {
		return
	}
	base := startSandbox(t)
	for _, sp := range serverPaths {
		file, l, _ := strings.Cut(sp, " ")
		resp, err := http.Get(base + l)
		if err != nil {
			t.Errorf("%s: link %q: %v", file, l, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: link %q: the server answers %d", file, l, resp.StatusCode)
		}
	}
}
