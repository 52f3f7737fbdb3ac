package guides_test

import (
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"hpsandbox/sandbox/guides"
	"hpsandbox/sandbox/openapi/openapitest"
)

// TestGuides_ExamplesFollowTheConvention: every shell block of every
// guide says whether it runs, and every example has its expect block.
func TestGuides_ExamplesFollowTheConvention(t *testing.T) {
	set := loadGuides(t)
	ex, err := set.Examples()
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) == 0 {
		t.Fatal("the guides have no executable examples")
	}
}

// TestGuides_ExamplesRunAgainstASandbox runs every example of every guide,
// in order, against a sandbox started as `sandbox serve` starts it, and
// compares each answer with its expect block. A failure names the guide,
// the line of the example and the difference.
func TestGuides_ExamplesRunAgainstASandbox(t *testing.T) {
	set := loadGuides(t)
	examples, err := set.Examples()
	if err != nil {
		t.Fatal(err)
	}
	base := startSandbox(t)
	_, raw := get(t, base+"/openapi.json")
	doc, err := openapitest.New([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string][]guides.Example{}
	var files []string
	for _, e := range examples {
		if byFile[e.File] == nil {
			files = append(files, e.File)
		}
		byFile[e.File] = append(byFile[e.File], e)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			vars := map[string]string{"OPERATOR_PASSWORD": operatorPassword}
			for _, e := range byFile[file] {
				runExample(t, base, e, vars, doc)
			}
		})
	}
}

// runExample sends one example's request and checks its answer; the
// variables it captures are added to vars.
// Each answer is also checked against the server's OpenAPI document,
// but for the connectors': their APIs are the national services' (the
// hub's, JFT's, PMD's), which /openapi.json does not describe.
func runExample(t *testing.T, base string, e guides.Example, vars map[string]string, doc *openapitest.Checker) (status int, body []byte) {
	t.Helper()
	where := e.File + ":" + itoa(e.Line)
	req, err := guides.ParseCurl(e.Command, base, vars)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return 0, nil
	}
	hr, err := req.HTTP()
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return 0, nil
	}
	resp, err := noRedirects.Do(hr)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return 0, nil
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s: reading the answer: %v", where, err)
		return 0, nil
	}
	if os.Getenv("GUIDES_SHOW") != "" {
		t.Logf("%s: %d %s", where, resp.StatusCode, body)
	}
	diffs, captured := e.Expect.With(vars, base).Check(resp.StatusCode, resp.Header, body)
	for _, d := range diffs {
		t.Errorf("%s: %s %s: expect block %s", where, req.Method, strings.TrimPrefix(req.URL, base), d)
	}
	if err := doc.Check(hr, resp.StatusCode, resp.Header, body); err != nil && !connectorPath(hr.URL.Path) {
		t.Errorf("%s: the answer does not match the OpenAPI document: %v", where, err)
	}
	for k, v := range captured {
		vars[k] = v
	}
	return resp.StatusCode, body
}

// connectorPath reports whether path is below a sandbox's connectors.
func connectorPath(path string) bool {
	if rest, ok := strings.CutPrefix(path, "/sandboxes/"); ok {
		_, path, _ = strings.Cut(rest, "/")
		path = "/" + path
	}
	return strings.HasPrefix(path, "/connectors/")
}

func itoa(n int) string { return strconv.Itoa(n) }

func loadGuides(t *testing.T) *guides.Set {
	t.Helper()
	set, err := guides.Load(guides.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}
