package adminapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/tenant"
)

// checkJSON is one check of the registry as the API lists it.
type checkJSON struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Cite     string `json:"cite,omitempty"`
	Severity string `json:"severity"`
	Source   string `json:"source,omitempty"`
}

// profileJSON is one profile of the registry.
type profileJSON struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Checks      []string `json:"checks"`
}

// listChecks lists every check and profile, with their citations; any
// account may read them.
func (a *API) listChecks(c *gin.Context, _ *tenant.Account) error {
	reg := a.d.Conformance.Registry
	checks := reg.Checks()
	out := struct {
		Checks   []checkJSON   `json:"checks"`
		Profiles []profileJSON `json:"profiles"`
	}{Checks: make([]checkJSON, len(checks))}
	for i, ch := range checks {
		out.Checks[i] = checkJSON{ID: ch.ID, Title: ch.Title, Cite: ch.Cite, Severity: string(ch.Severity), Source: ch.Source}
	}
	for _, p := range reg.Profiles() {
		out.Profiles = append(out.Profiles, profileJSON(p))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// newRunJSON asks for a run.
type newRunJSON struct {
	ClientID string     `json:"client_id"`
	Profile  string     `json:"profile"`
	Since    *time.Time `json:"since"`
	Until    *time.Time `json:"until"`
}

// maxRunsListed bounds the reports GET /runs answers with.
const maxRunsListed = 100

// startRun judges a client's exchanges in the sandbox against a profile
// and answers the run's TestReport, which is kept in the sandbox's FHIR
// store. Whoever may see the sandbox may run checks over its log:
// a run reads the evidence, and its report records that reading.
func (a *API) startRun(c *gin.Context, who *tenant.Account) error {
	if err := a.visibleSandbox(c, who); err != nil {
		return err
	}
	var req newRunJSON
	if err := a.decodeBody(c, &req); err != nil {
		return err
	}
	r, err := runRequest(req, a.d.Conformance.Registry)
	if err != nil {
		return err
	}
	run, err := a.d.Conformance.Run(c.Request.Context(), c.Param("id"), r)
	if errors.Is(err, conformance.ErrBadRun) || errors.Is(err, conformance.ErrUnknownProfile) {
		return problem(kindInvalid, err.Error())
	}
	if err != nil {
		return err
	}
	report, err := run.TestReport()
	if err != nil {
		return err
	}
	c.Header("Location", c.Request.URL.EscapedPath()+"/"+url.PathEscape(run.ID))
	c.Data(http.StatusCreated, "application/json", report)
	return nil
}

// runRequest checks a run request of the API.
func runRequest(req newRunJSON, reg *conformance.Registry) (conformance.RunRequest, error) {
	var errs []FieldError
	if req.ClientID == "" {
		errs = append(errs, FieldError{Field: "client_id", Message: "the client whose exchanges to judge is required"})
	}
	if _, ok := reg.Profile(req.Profile); !ok {
		errs = append(errs, FieldError{Field: "profile", Message: "not a profile of GET /checks"})
	}
	r := conformance.RunRequest{ClientID: req.ClientID, Profile: req.Profile}
	if req.Since != nil {
		r.Since = *req.Since
	}
	if req.Until != nil {
		r.Until = *req.Until
		if !r.Since.IsZero() && !r.Since.Before(r.Until) {
			errs = append(errs, FieldError{Field: "until", Message: "must be after since"})
		}
	}
	if len(errs) > 0 {
		return r, problem(kindInvalid, "The run cannot be made as asked.", errs...)
	}
	return r, nil
}

// listRuns answers the sandbox's TestReports, newest first.
func (a *API) listRuns(c *gin.Context, who *tenant.Account) error {
	if err := a.visibleSandbox(c, who); err != nil {
		return err
	}
	out := struct {
		Runs []json.RawMessage `json:"runs"`
	}{Runs: []json.RawMessage{}}
	if rep := a.d.Conformance.Reports; rep != nil {
		list, err := rep.List(c.Request.Context(), c.Param("id"), maxRunsListed)
		if err != nil {
			return err
		}
		for _, b := range list {
			out.Runs = append(out.Runs, b)
		}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// runFormats are the renderings GET /runs/{run_id} answers, by ?format.
var runFormats = map[string]struct {
	contentType string
	write       func(*conformance.Run, io.Writer) error
}{
	"junit": {"application/xml; charset=utf-8", (*conformance.Run).WriteJUnit},
	"html":  {"text/html; charset=utf-8", (*conformance.Run).WriteHTML},
}

// getRun answers one run's TestReport, or (?format=junit or html) its
// JUnit XML or standalone HTML page.
func (a *API) getRun(c *gin.Context, who *tenant.Account) error {
	if err := a.visibleSandbox(c, who); err != nil {
		return err
	}
	format, err := runFormat(c)
	if err != nil {
		return err
	}
	if a.d.Conformance.Reports == nil {
		return notFound("run")
	}
	b, err := a.d.Conformance.Reports.Get(c.Request.Context(), c.Param("id"), c.Param("run_id"))
	if errors.Is(err, conformance.ErrNoRun) {
		return notFound("run")
	}
	if err != nil {
		return err
	}
	return a.writeRun(c, b, c.Param("id"), format)
}
