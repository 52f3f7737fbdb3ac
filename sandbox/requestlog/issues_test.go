package requestlog_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"hpsandbox/sandbox/requestlog"
)

const outcome = `{"resourceType":"OperationOutcome","issue":[
	{"severity":"error","code":"required","diagnostics":"Observation.status is required","expression":["Observation.status","Observation"]},
	{"severity":"warning","code":"value","location":["/f:Observation/f:code"]},
	{"severity":"information","code":"informational"}]}`

func TestIssuesFrom(t *testing.T) {
	want := []requestlog.Issue{
		{Severity: "error", Code: "required", Diagnostics: "Observation.status is required", Expression: "Observation.status"},
		{Severity: "warning", Code: "value", Expression: "/f:Observation/f:code"},
		{Severity: "information", Code: "informational"},
	}
	tests := []struct {
		name, contentType, body string
		want                    []requestlog.Issue
	}{
		{"FHIRJSON", "application/fhir+json", outcome, want},
		{"FHIRJSONWithCharset", "application/fhir+json; charset=utf-8", outcome, want},
		{"PlainJSON", "application/json", outcome, want},
		{"DSTU2MediaType", "application/json+fhir", outcome, want},
		{"MediaTypeIgnoresCase", " Application/FHIR+JSON ;charset=UTF-8", outcome, want},
		{"XML_Ignored", "application/fhir+xml", outcome, nil},
		{"HTML_Ignored", "text/html", outcome, nil},
		{"NoContentType_Ignored", "", outcome, nil},
		{"OtherResource_Ignored", "application/fhir+json", `{"resourceType":"Patient","text":"OperationOutcome"}`, nil},
		{"OAuthError_Ignored", "application/json", `{"error":"invalid_grant"}`, nil},
		{"Malformed_Ignored", "application/fhir+json", `{"resourceType":"OperationOutcome","issue":[`, nil},
		{"WrongTypes_Ignored", "application/fhir+json", `{"resourceType":"OperationOutcome","issue":{"code":1}}`, nil},
		{"NoIssues", "application/fhir+json", `{"resourceType":"OperationOutcome","issue":[]}`, nil},
		{"Empty", "application/fhir+json", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requestlog.IssuesFrom(tt.contentType, []byte(tt.body)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestIssuesFrom_LargeBody_Ignored(t *testing.T) {
	pad := strings.Repeat(" ", requestlog.MaxOutcomeBytes)
	if got := requestlog.IssuesFrom("application/fhir+json", []byte(outcome+pad)); got != nil {
		t.Fatalf("a body over MaxOutcomeBytes gave %d issues", len(got))
	}
}

func TestIssuesFrom_BoundsIssuesAndStrings(t *testing.T) {
	long := strings.Repeat("ø", 2000) // two bytes each, to test cutting between characters
	var b strings.Builder
	b.WriteString(`{"resourceType":"OperationOutcome","issue":[`)
	fmt.Fprintf(&b, `{"severity":%q,"code":%q,"diagnostics":%q,"expression":[%q]}`, long, long, long, long)
	for range 49 {
		b.WriteString(`,{"severity":"error","code":"invalid"}`)
	}
	b.WriteString(`]}`)
	got := requestlog.IssuesFrom("application/fhir+json", []byte(b.String()))
	if len(got) != 20 {
		t.Fatalf("%d issues kept, want 20", len(got))
	}
	first := got[0]
	for _, c := range []struct {
		field string
		value string
		max   int
	}{
		{"severity", first.Severity, 64}, {"code", first.Code, 64},
		{"diagnostics", first.Diagnostics, 1024}, {"expression", first.Expression, 256},
	} {
		if len(c.value) > c.max || len(c.value) < c.max-1 || !utf8.ValidString(c.value) {
			t.Errorf("%s cut to %d bytes (valid UTF-8: %v), want %d or one less", c.field, len(c.value), utf8.ValidString(c.value), c.max)
		}
	}
}

func FuzzIssuesFrom(f *testing.F) {
	f.Add("application/fhir+json", []byte(outcome))
	f.Add("application/json", []byte(`{"resourceType":"OperationOutcome","issue":[{"diagnostics":"\xff\u0000"}]}`))
	f.Add("application/fhir+json;x", []byte(`{"resourceType":"OperationOutcome","issue":[null,{}]}`))
	f.Add("application/json", []byte(`"OperationOutcome"`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		issues := requestlog.IssuesFrom(contentType, body)
		if len(issues) > 20 {
			t.Fatalf("%d issues, want at most 20", len(issues))
		}
		if len(issues) > 0 && len(body) > requestlog.MaxOutcomeBytes {
			t.Fatalf("parsed a body of %d bytes", len(body))
		}
		for _, is := range issues {
			for _, s := range []string{is.Severity, is.Code, is.Diagnostics, is.Expression} {
				if len(s) > 1024 || !utf8.ValidString(s) {
					t.Fatalf("issue string of %d bytes, valid UTF-8 %v", len(s), utf8.ValidString(s))
				}
			}
		}
	})
}
