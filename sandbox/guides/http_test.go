package guides_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirects.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestGuides_ServedOverHTTP: the index, a guide, the search and the
// stylesheet are served by the sandbox, self-contained (no script, nothing
// from elsewhere), and what is not a guide is a 404.
func TestGuides_ServedOverHTTP(t *testing.T) {
	base := startSandbox(t)
	tests := []struct {
		name, path string
		status     int
		contains   []string
		absent     []string
	}{
		{"index lists every guide", "/guides", 200,
			[]string{"<h1 id=\"hp-sandbox-guides\">HP Sandbox guides</h1>", `href="/guides/searching"`, `href="/guides/getting-started"`, `href="/guides/style.css"`},
			[]string{"<script", "https://"}},
		{"a guide with its table of contents", "/guides/searching", 200,
			[]string{"<h1 id=\"searching\">Searching</h1>", `<li class="l2"><a href="#paging">Paging</a></li>`, `class="code example"`, `class="chroma"`},
			[]string{"<script"}},
		{"links between guides point at the served pages", "/guides/getting-started", 200,
			[]string{`href="/guides/operating#configuration"`, `href="/guides/searching"`}, []string{`.md"`}},
		{"search finds sections across guides", "/guides/search?q=revinclude+device", 200,
			[]string{"Searching › Including what the results point to", `href="/guides/searching#including-what-the-results-point-to"`}, nil},
		{"search escapes what it is given", "/guides/search?q=%3Cscript%3Ealert(1)%3C/script%3E", 200,
			[]string{"&lt;script&gt;alert(1)&lt;/script&gt;", "0 sections match"}, []string{"<script>alert"}},
		{"the Markdown file name sends to the page", "/guides/searching.md", 301, nil, nil},
		{"an unknown guide", "/guides/no-such-guide", 404, []string{"Not found"}, nil},
		{"no path escapes the guides", "/guides/../fhir/metadata", 404, nil, nil},
		{"the stylesheet holds the highlighting", "/guides/style.css", 200, []string{".chroma"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, base+tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %q", s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(body, s) {
					t.Errorf("the page holds %q", s)
				}
			}
			if tt.status == 200 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("Content-Security-Policy %q", csp)
				}
			}
		})
	}
	if resp, _ := get(t, base+"/guides/searching.md"); resp.Header.Get("Location") != "/guides/searching" {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/guides/searching", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("POST to a guide answers 200")
	}
}
