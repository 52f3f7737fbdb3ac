package adminapi

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/signoff"
	"hpsandbox/sandbox/tenant"
)

// signoff is the review of test requests over the API's registry and runner.
func (a *API) signoff() signoff.Service {
	return signoff.Service{Tenants: a.d.Tenants, Runner: a.d.Conformance}
}

// knownProfile is the registry's answer to whether a profile exists.
func (a *API) knownProfile(id string) bool { return a.signoff().Known(id) }

// orNoRun answers an error about a run that is not the request's (or
// not kept) as 404, and a tenant error as usual.
func orNoRun(err error) error {
	if errors.Is(err, conformance.ErrNoRun) {
		return notFound("run of this test request")
	}
	return orNotFound(err, "test request")
}

// listTestRequests answers the test requests the account may see: a
// supplier's own, or all of them for reviewers and operators.
func (a *API) listTestRequests(c *gin.Context, who *tenant.Account) error {
	list, err := a.d.Tenants.TestRequests(c.Request.Context(), who)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, struct {
		TestRequests []*tenant.TestRequest `json:"test_requests"`
	}{list})
	return nil
}

// fileTestRequest files a supplier's request for test.
func (a *API) fileTestRequest(c *gin.Context, who *tenant.Account) error {
	var req tenant.NewTestRequest
	if err := a.decodeBody(c, &req); err != nil {
		return err
	}
	t, err := a.d.Tenants.FileTestRequest(c.Request.Context(), who, req, a.knownProfile)
	if err != nil {
		return err
	}
	c.Header("Location", c.Request.URL.EscapedPath()+"/"+url.PathEscape(t.ID))
	c.JSON(http.StatusCreated, t)
	return nil
}

// testRequest reads the request of the path for who.
func (a *API) testRequest(c *gin.Context, who *tenant.Account) (*tenant.TestRequest, error) {
	t, err := a.d.Tenants.TestRequestFor(c.Request.Context(), who, c.Param("id"))
	return t, orNotFound(err, "test request")
}

func (a *API) getTestRequest(c *gin.Context, who *tenant.Account) error {
	t, err := a.testRequest(c, who)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, t)
	return nil
}

// acceptTestRequest binds a submitted request to a sandbox of its
// supplier and the profiles to run.
func (a *API) acceptTestRequest(c *gin.Context, who *tenant.Account) error {
	var acc tenant.Acceptance
	if err := a.decodeBody(c, &acc); err != nil {
		return err
	}
	t, err := a.d.Tenants.AcceptTestRequest(c.Request.Context(), who, c.Param("id"), acc, a.knownProfile)
	if err != nil {
		return orNotFound(err, "test request")
	}
	c.JSON(http.StatusOK, t)
	return nil
}

// withdrawTestRequest withdraws a request no one has decided.
func (a *API) withdrawTestRequest(c *gin.Context, who *tenant.Account) error {
	t, err := a.d.Tenants.WithdrawTestRequest(c.Request.Context(), who, c.Param("id"))
	if err != nil {
		return orNotFound(err, "test request")
	}
	c.JSON(http.StatusOK, t)
	return nil
}

// startRequestRun judges a client's exchanges in the request's sandbox
// against one of its profiles, records the run in the request and answers
// its TestReport.
func (a *API) startRequestRun(c *gin.Context, who *tenant.Account) error {
	var req newRunJSON
	if err := a.decodeBody(c, &req); err != nil {
		return err
	}
	r, err := runRequest(req, a.d.Conformance.Registry)
	if err != nil {
		return err
	}
	run, _, err := a.signoff().Run(c.Request.Context(), who, c.Param("id"), r)
	if errors.Is(err, conformance.ErrBadRun) || errors.Is(err, conformance.ErrUnknownProfile) {
		return problem(kindInvalid, err.Error())
	}
	if err != nil {
		return orNotFound(err, "test request")
	}
	report, err := run.TestReport()
	if err != nil {
		return err
	}
	c.Header("Location", c.Request.URL.EscapedPath()+"/"+url.PathEscape(run.ID))
	c.Data(http.StatusCreated, "application/json", report)
	return nil
}

// getRequestRun answers a run of the request as getRun does.
func (a *API) getRequestRun(c *gin.Context, who *tenant.Account) error {
	format, err := runFormat(c)
	if err != nil {
		return err
	}
	t, err := a.testRequest(c, who)
	if err != nil {
		return err
	}
	b, err := a.signoff().Report(c.Request.Context(), who, t, c.Param("run_id"))
	if err != nil {
		return orNoRun(err)
	}
	return a.writeRun(c, b, t.Sandbox, format)
}

// decisionJSON is a reviewer's verdict on a run.
type decisionJSON struct {
	Verdict string `json:"verdict"`
	Comment string `json:"comment"`
}

// decideRun approves or rejects a run of the request. The report is hashed
// as it stands; approving seals it.
func (a *API) decideRun(c *gin.Context, who *tenant.Account) error {
	var req decisionJSON
	if err := a.decodeBody(c, &req); err != nil {
		return err
	}
	t, err := a.signoff().Decide(c.Request.Context(), who, c.Param("id"), c.Param("run_id"), req.Verdict, req.Comment)
	if err != nil {
		return orNoRun(err)
	}
	c.JSON(http.StatusOK, t)
	return nil
}

// checkDiffJSON is one check of a diff.
type checkDiffJSON struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	Change string `json:"change"`
}

// diffRuns compares two runs of the request, check by check.
func (a *API) diffRuns(c *gin.Context, who *tenant.Account) error {
	q := c.Request.URL.Query()
	for name, vs := range q {
		if (name != "from" && name != "to") || len(vs) != 1 {
			return problem(kindBadRequest, "The query parameters are from and to, once each: the ids of two runs of the request.")
		}
	}
	if q.Get("from") == "" || q.Get("to") == "" {
		return problem(kindBadRequest, "Name the runs to compare: from (the earlier) and to (the later).")
	}
	t, err := a.testRequest(c, who)
	if err != nil {
		return err
	}
	cmp, err := a.signoff().Compare(c.Request.Context(), who, t, q.Get("from"), q.Get("to"))
	if err != nil {
		return orNoRun(err)
	}
	out := struct {
		From   string          `json:"from"`
		To     string          `json:"to"`
		Counts map[string]int  `json:"counts"`
		Checks []checkDiffJSON `json:"checks"`
	}{From: q.Get("from"), To: q.Get("to"), Counts: map[string]int{}, Checks: []checkDiffJSON{}}
	for ch, n := range cmp.Counts {
		out.Counts[string(ch)] = n
	}
	for _, d := range cmp.Checks {
		out.Checks = append(out.Checks, checkDiffJSON{ID: d.Check.ID, Title: d.Check.Title, Before: d.Before, After: d.After, Change: string(d.Change)})
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// runFormat reads ?format of a run's rendering.
func runFormat(c *gin.Context) (string, error) {
	format := "json"
	for name, vs := range c.Request.URL.Query() {
		if name != "format" || len(vs) != 1 {
			return "", problem(kindBadRequest, "The only query parameter is format, once.")
		}
		format = vs[0]
	}
	if _, ok := runFormats[format]; !ok && format != "json" {
		return "", problem(kindBadRequest, "format is json, junit or html.")
	}
	return format, nil
}

// writeRun answers a TestReport in format.
func (a *API) writeRun(c *gin.Context, report []byte, sandbox, format string) error {
	if format == "json" {
		c.Data(http.StatusOK, "application/json", report)
		return nil
	}
	run, err := conformance.ParseTestReport(report, sandbox, a.d.Conformance.Registry)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := runFormats[format].write(run, &out); err != nil {
		return err
	}
	c.Data(http.StatusOK, runFormats[format].contentType, out.Bytes())
	return nil
}
