package guides

import (
	"net/http"
	"strings"
	"testing"
)

func TestParseCurl_ReadsTheOptionsTheGuidesUse(t *testing.T) {
	vars := map[string]string{"ID": "abc", "PW": "s3cret pass"}
	tests := []struct {
		name, cmd string
		method    string
		url       string
		header    http.Header
		body      string
	}{
		{"plain GET with the base replaced", `curl -s http://127.0.0.1:8080/fhir/metadata`, "GET", "http://h:1/fhir/metadata", http.Header{}, ""},
		{"single quotes keep | and $", `curl -s 'http://127.0.0.1:8080/fhir/Patient?identifier=a|b&x=$ID'`, "GET", "http://h:1/fhir/Patient?identifier=a|b&x=$ID", http.Header{}, ""},
		{"double quotes and bare words expand", `curl -s "http://127.0.0.1:8080/fhir/Patient/$ID" -H "X-A: ${ID}"`, "GET", "http://h:1/fhir/Patient/abc", http.Header{"X-A": {"abc"}}, ""},
		{"-d makes a POST with a form type", `curl -s http://127.0.0.1:8080/x -d a=1 -d b=2`, "POST", "http://h:1/x",
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "a=1&b=2"},
		{"-X and -H with a line continuation", "curl -s -X PUT http://127.0.0.1:8080/x \\\n  -H 'Content-Type: application/fhir+json' \\\n  -d '{}'", "PUT", "http://h:1/x",
			http.Header{"Content-Type": {"application/fhir+json"}}, "{}"},
		{"-G moves --data-urlencode into the query", `curl -s -G http://127.0.0.1:8080/c --data-urlencode 'code=http://loinc.org|1 2'`, "GET",
			"http://h:1/c?code=http%3A%2F%2Floinc.org%7C1+2", http.Header{}, ""},
		{"short options run together, -u as Basic", `curl -su "operator:$PW" http://127.0.0.1:8080/a`, "GET", "http://h:1/a",
			http.Header{"Authorization": {"Basic b3BlcmF0b3I6czNjcmV0IHBhc3M="}}, ""},
		{"a pipe only shapes the output", `curl -s http://127.0.0.1:8080/a | jq .`, "GET", "http://h:1/a", http.Header{}, ""},
		{"a trailing comment", "curl -s http://127.0.0.1:8080/a   # the index\n", "GET", "http://h:1/a", http.Header{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseCurl(tt.cmd, "http://h:1", vars)
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != tt.method || r.URL != tt.url || r.Body != tt.body {
				t.Errorf("got %s %s %q, want %s %s %q", r.Method, r.URL, r.Body, tt.method, tt.url, tt.body)
			}
			for k, v := range tt.header {
				if got := r.Header.Values(k); strings.Join(got, ",") != strings.Join(v, ",") {
					t.Errorf("header %s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestParseCurl_RefusesWhatIsNotOneRequest(t *testing.T) {
	for _, cmd := range []string{
		``, `wget http://127.0.0.1:8080/`, `curl -s`, `curl -s http://a/ http://b/`, `curl -s ftp://x/`,
		`curl -s http://127.0.0.1:8080/ ; rm -rf /`, `curl -s http://127.0.0.1:8080/ > out`, `curl -s http://127.0.0.1:8080/$(id)`,
		`curl -s http://127.0.0.1:8080/$UNSET`, `curl -d @/etc/passwd http://127.0.0.1:8080/`, `curl --upload-file x http://127.0.0.1:8080/`,
		"curl -s http://127.0.0.1:8080/a\ncurl -s http://127.0.0.1:8080/b", `curl -s 'http://127.0.0.1:8080/`, `curl -H nocolon http://a/`,
		`curl -s http://127.0.0.1:8080/ -X`,
	} {
		if r, err := ParseCurl(cmd, "http://h:1", nil); err == nil {
			t.Errorf("%q: parsed as %+v, want an error", cmd, r)
		}
	}
}

func TestParseExamples_EnforcesTheConvention(t *testing.T) {
	tests := []struct {
		name, src string
		examples  int
		err       string
	}{
		{"example with expect", "```sh example\ncurl -s http://127.0.0.1:8080/\n```\n\n```expect\nHTTP 200\n.a = b\n```\n", 1, ""},
		{"norun needs nothing", "```sh norun\nmake run\n```\n", 0, ""},
		{"other languages are not commands", "```json\n{}\n```\n", 0, ""},
		{"unmarked shell block", "```sh\ncurl x\n```\n", 0, "says whether it runs"},
		{"example without expect", "```sh example\ncurl x\n```\n", 0, "followed at once"},
		{"text between example and expect", "```sh example\ncurl x\n```\nhello\n```expect\nHTTP 200\n```\n", 0, "followed at once"},
		{"expect without example", "```expect\nHTTP 200\n```\n", 0, "follows no"},
		{"expect without status", "```sh example\ncurl x\n```\n```expect\n.a = b\n```\n", 0, "status first"},
		{"bad field rule", "```sh example\ncurl x\n```\n```expect\nHTTP 200\n.a[x] = 1\n```\n", 0, "index"},
		{"unclosed block", "```sh example\ncurl x\n", 0, "never closed"},
		{"longer fences nest shorter ones", "````markdown\n```sh\ncurl x\n```\n````\n", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, err := ParseExamples("g.md", []byte(tt.src))
			if len(ex) != tt.examples {
				t.Errorf("%d examples, want %d", len(ex), tt.examples)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("error %v, want one saying %q", err, tt.err)
			}
		})
	}
}

func TestExpectCheck_NamesEachDifference(t *testing.T) {
	e, err := parseExpect(10, "HTTP 200\nContent-Type: fhir+json\nETag -> TAG\n.a.b[1] = x\n.n = 3\n.t = true\n.s ~ ell\n.id -> ID\n.missing\n")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/fhir+json"}, "Etag": {`W/"1"`}}
	diffs, got := e.Check(200, h, []byte(`{"a":{"b":["w","x"]},"n":3,"t":true,"s":"hello","id":"p1"}`))
	if len(diffs) != 1 || !strings.Contains(diffs[0], "line 18: .missing") {
		t.Errorf("diffs %q, want the one missing field on line 18", diffs)
	}
	if got["ID"] != "p1" || got["TAG"] != `W/"1"` {
		t.Errorf("captured %v", got)
	}
	diffs, _ = e.Check(404, http.Header{}, []byte(`{"resourceType":"OperationOutcome","issue":[{"diagnostics":"no such"}]}`))
	if len(diffs) < 3 || !strings.Contains(diffs[0], "status 404, want 200 (no such)") {
		t.Errorf("diffs %q", diffs)
	}
	with := e.With(map[string]string{"X": "1"}, "http://h:1")
	if with.Fields[0].Value != "x" {
		t.Errorf("With changed a plain value")
	}
}
