package guides_test

import (
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors/mllp"
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
	if _, err := set.HL7Examples(); err != nil {
		t.Fatal(err)
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
	hl7, err := set.HL7Examples()
	if err != nil {
		t.Fatal(err)
	}
	base := startSandbox(t)
	_, raw := get(t, base+"/openapi.json")
	doc, err := openapitest.New([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	// A guide's steps, curl and HL7 v2 alike, in the order it shows them.
	type step struct {
		line int
		run  func(t *testing.T, vars map[string]string)
	}
	byFile := map[string][]step{}
	var files []string
	add := func(file string, s step) {
		if byFile[file] == nil {
			files = append(files, file)
		}
		byFile[file] = append(byFile[file], s)
	}
	for _, e := range examples {
		add(e.File, step{e.Line, func(t *testing.T, vars map[string]string) { runExample(t, base, e, vars, doc) }})
	}
	for _, e := range hl7 {
		add(e.File, step{e.Line, func(t *testing.T, _ map[string]string) { runHL7Example(t, shared.mllp, e) }})
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			steps := byFile[file]
			slices.SortFunc(steps, func(a, b step) int { return a.line - b.line })
			vars := map[string]string{"OPERATOR_PASSWORD": operatorPassword}
			for _, s := range steps {
				s.run(t, vars)
			}
		})
	}
}

// runHL7Example sends one HL7 v2 example over MLLP to the sandbox's
// device-feed listener at addr and checks its acknowledgement.
func runHL7Example(t *testing.T, addr string, e guides.HL7Example) {
	t.Helper()
	where := e.File + ":" + itoa(e.Line)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := mllp.WriteFrame(conn, e.Message); err != nil {
		t.Errorf("%s: sending: %v", where, err)
		return
	}
	ack, err := mllp.NewReader(conn, 0).ReadFrame()
	if err != nil {
		t.Errorf("%s: reading the ACK: %v", where, err)
		return
	}
	if os.Getenv("GUIDES_SHOW") != "" {
		t.Logf("%s: %q", where, ack)
	}
	for _, d := range e.Check(ack) {
		t.Errorf("%s: ACK: expect block %s", where, d)
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
