package conformance

import (
	"bytes"
	"embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// WriteJSON writes the run's TestReport, indented, as a supplier's CI or
// any FHIR client reads it.
func (run *Run) WriteJSON(w io.Writer) error {
	b, err := run.TestReport()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// JUnit XML, the shape CI servers read: one suite per run, one case per
// check, a failure for a failed error, and a skipped element for a skip.
// A failed warning passes, with its message in system-out.
type (
	junitSuites struct {
		XMLName xml.Name     `xml:"testsuites"`
		Name    string       `xml:"name,attr"`
		Tests   int          `xml:"tests,attr"`
		Fails   int          `xml:"failures,attr"`
		Suites  []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Timestamp  string          `xml:"timestamp,attr"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Failure   *junitFailure `xml:"failure"`
		Skipped   *junitSkipped `xml:"skipped"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
)

// WriteJUnit writes the run as JUnit XML.
func (run *Run) WriteJUnit(w io.Writer) error {
	s := junitSuite{Name: run.Profile.ID, Tests: len(run.Outcomes), Timestamp: run.Issued.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{{"sandbox", run.Sandbox}, {"client", run.ClientID}, {"profile", run.Profile.Title},
			{"score", fmt.Sprint(run.Score())}}}
	if run.Active {
		s.Properties[0] = junitProperty{"server", run.FHIRBase}
	}
	for _, o := range run.Outcomes {
		c := junitCase{Name: o.Check.ID + ": " + o.Check.Title, Classname: "conformance." + run.Profile.ID}
		detail := o.Result.Message
		if len(o.Result.Evidence) > 0 {
			detail += "\nevidence: " + strings.Join(o.Result.Evidence, run.evidenceSep())
		}
		if o.Check.Cite != "" {
			detail += "\nsee " + o.Check.Cite
		}
		switch assertResult(o) {
		case "fail":
			s.Failures++
			c.Failure = &junitFailure{Message: o.Result.Message, Type: string(o.Check.Severity), Text: detail}
		case "skip":
			s.Skipped++
			c.Skipped = &junitSkipped{Message: o.Result.Message}
		default:
			c.SystemOut = detail
		}
		s.Cases = append(s.Cases, c)
	}
	doc := junitSuites{Name: "HP Sandbox conformance", Tests: s.Tests, Fails: s.Failures, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

//go:embed report.html.tmpl
var templates embed.FS

var reportPage = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"result": assertResult,
	"time":   fhirTime,
	"join":   strings.Join,
}).ParseFS(templates, "report.html.tmpl"))

// WriteHTML writes the run as one standalone HTML page, styles inline and
// no external assets, for a reviewer to read and archive.
func (run *Run) WriteHTML(w io.Writer) error {
	return reportPage.Execute(w, struct {
		*Run
		Counts Counts
		Score  float64
		Passed bool
		Sep    string
	}{run, run.Counts(), run.Score(), run.Passed(), map[bool]string{false: ", ", true: "; "}[run.Active]})
}
