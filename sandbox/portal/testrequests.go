package portal

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/signoff"
	"hpsandbox/sandbox/tenant"
)

// requestNotices are the confirmations of the test request pages, by
// ?done=.
var requestNotices = map[string]string{
	"filed":     "The request was filed. A reviewer accepts it and binds it to one of your sandboxes.",
	"accepted":  "The request was accepted.",
	"withdrawn": "The request was withdrawn.",
	"approved":  "The run was approved; its report is sealed and can no longer change.",
	"rejected":  "The run was rejected; the supplier sees your comment.",
}

// signoff is the review of test requests over the portal's registry and
// runner; ok is false when the server keeps no request log to judge.
func (p *Portal) signoff() (signoff.Service, bool) {
	return signoff.Service{Tenants: p.d.Tenants, Runner: p.d.Conformance},
		p.d.Conformance != nil && p.d.Conformance.Reports != nil
}

func (p *Portal) knownProfile(id string) bool {
	_, ok := p.registry().Profile(id)
	return ok
}

// failRequest answers an error of the test request pages.
func (p *Portal) failRequest(c *gin.Context, v *visit, err error) {
	switch {
	case errors.Is(err, conformance.ErrNoRun):
		p.notFound(c, v)
	case errors.Is(err, tenant.ErrState):
		p.renderStatus(c, v, http.StatusConflict, "Not possible now", err.Error())
	case errors.Is(err, tenant.ErrForbidden):
		p.renderStatus(c, v, http.StatusForbidden, "Not allowed", "A supplier files and follows its requests; reviewers and operators accept, run and decide them.")
	default:
		p.fail(c, v, err)
	}
}

// isReviewer says whether the account reviews test requests.
func isReviewer(a *tenant.Account) bool {
	return a.Role == tenant.RoleReviewer || a.Role == tenant.RoleOperator
}

// testRequestsData is the test requests page's.
type testRequestsData struct {
	Requests []*tenant.TestRequest
	// CanFile shows the form of a new request (supplier accounts).
	CanFile  bool
	Reviewer bool
	Profiles []conformance.Profile
	Form     requestForm
	Notice   string
}

type requestForm struct {
	Product, Kind, Contact string
	Profiles               []string
	Error                  string
}

// testRequestsPage lists the requests the account may see: a supplier's
// own, the whole queue for reviewers.
func (p *Portal) testRequestsPage(c *gin.Context, v *visit) {
	p.showTestRequests(c, v, http.StatusOK, requestForm{Kind: "app"})
}

func (p *Portal) showTestRequests(c *gin.Context, v *visit, status int, form requestForm) {
	list, err := p.d.Tenants.TestRequests(c.Request.Context(), v.account)
	if err != nil {
		p.fail(c, v, err)
		return
	}
	d := testRequestsData{Requests: list, CanFile: v.account.Role == tenant.RoleSupplier && v.account.Supplier != "",
		Reviewer: isReviewer(v.account), Profiles: p.registry().Profiles(), Form: form, Notice: requestNotices[c.Query("done")]}
	title := "Test requests"
	if d.Reviewer {
		title = "Test requests: review queue"
	}
	p.render(c, v, status, "testrequests", title, d)
}

// fileTestRequest files a supplier's request for test.
func (p *Portal) fileTestRequest(c *gin.Context, v *visit) {
	form := requestForm{Product: c.PostForm("product"), Kind: c.PostForm("kind"), Contact: c.PostForm("contact"),
		Profiles: c.PostFormArray("profile")}
	t, err := p.d.Tenants.FileTestRequest(c.Request.Context(), v.account, tenant.NewTestRequest{Product: form.Product,
		Kind: form.Kind, Contact: form.Contact, ClaimedProfiles: form.Profiles}, p.knownProfile)
	var inv *tenant.InvalidError
	if errors.As(err, &inv) {
		form.Error = inv.Error()
		p.showTestRequests(c, v, http.StatusBadRequest, form)
		return
	}
	if err != nil {
		p.failRequest(c, v, err)
		return
	}
	c.Redirect(http.StatusSeeOther, requestPath(t.ID)+"?done=filed")
}

func requestPath(id string) string { return basePath + "/test-requests/" + url.PathEscape(id) }

// requestData is a test request's page.
type requestData struct {
	Request  *tenant.TestRequest
	Reviewer bool
	// CanWithdraw shows the withdraw button; CanAccept the accept form
	// with the supplier's Sandboxes; CanRun the run form with the bound
	// sandbox's Apps.
	CanWithdraw, CanAccept, CanRun bool
	Sandboxes                      []*tenant.Sandbox
	Apps                           []*tenant.App
	Profiles                       []conformance.Profile
	Windows                        []int
	Notice, Error                  string
}

// testRequestPage shows a request: its facts, history, runs and
// decisions, and the forms the account may use.
func (p *Portal) testRequestPage(c *gin.Context, v *visit) {
	p.showTestRequest(c, v, http.StatusOK, "")
}

func (p *Portal) showTestRequest(c *gin.Context, v *visit, status int, formError string) {
	ctx := c.Request.Context()
	t, err := p.d.Tenants.TestRequestFor(ctx, v.account, c.Param("req"))
	if err != nil {
		p.failRequest(c, v, err)
		return
	}
	_, kept := p.signoff()
	d := requestData{Request: t, Reviewer: isReviewer(v.account), Profiles: p.registry().Profiles(), Windows: windows,
		Notice: requestNotices[c.Query("done")], Error: formError,
		CanWithdraw: v.account.Role != tenant.RoleReviewer && (t.State == tenant.StateSubmitted || t.State == tenant.StateAccepted)}
	if d.Reviewer && t.State == tenant.StateSubmitted {
		all, err := p.d.Tenants.Sandboxes(ctx, v.account)
		if err != nil {
			p.fail(c, v, err)
			return
		}
		for _, sb := range all {
			if sb.Supplier == t.Supplier {
				d.Sandboxes = append(d.Sandboxes, sb)
			}
		}
		d.CanAccept = true
	}
	if d.Reviewer && kept && (t.State == tenant.StateAccepted || t.State == tenant.StateRejected) {
		if d.Apps, err = p.d.Tenants.Apps(ctx, v.account, t.Sandbox); err != nil && !errors.Is(err, tenant.ErrNotFound) {
			p.fail(c, v, err)
			return
		}
		d.CanRun = true
	}
	p.render(c, v, status, "testrequest", t.Product+" — test request", d)
}

// acceptTestRequest binds a submitted request to a sandbox and profiles.
func (p *Portal) acceptTestRequest(c *gin.Context, v *visit) {
	id := c.Param("req")
	_, err := p.d.Tenants.AcceptTestRequest(c.Request.Context(), v.account, id,
		tenant.Acceptance{Sandbox: c.PostForm("sandbox"), Profiles: c.PostFormArray("profile")}, p.knownProfile)
	var inv *tenant.InvalidError
	if errors.As(err, &inv) {
		p.showTestRequest(c, v, http.StatusBadRequest, inv.Error())
		return
	}
	if err != nil {
		p.failRequest(c, v, err)
		return
	}
	c.Redirect(http.StatusSeeOther, requestPath(id)+"?done=accepted")
}

// withdrawTestRequest withdraws a request no one has decided.
func (p *Portal) withdrawTestRequest(c *gin.Context, v *visit) {
	id := c.Param("req")
	if _, err := p.d.Tenants.WithdrawTestRequest(c.Request.Context(), v.account, id); err != nil {
		p.failRequest(c, v, err)
		return
	}
	c.Redirect(http.StatusSeeOther, requestPath(id)+"?done=withdrawn")
}

// startRequestRun runs one of the request's profiles over an app's
// exchanges of the chosen window and shows the run.
func (p *Portal) startRequestRun(c *gin.Context, v *visit) {
	id := c.Param("req")
	so, kept := p.signoff()
	if !kept {
		p.renderStatus(c, v, http.StatusNotFound, "No request log", "This server keeps no request log, so there is nothing to judge.")
		return
	}
	hours, err := strconv.Atoi(c.PostForm("hours"))
	if err != nil || hours < 1 || hours > 24*366 {
		p.showTestRequest(c, v, http.StatusBadRequest, "Window: choose how far back to judge.")
		return
	}
	req := conformance.RunRequest{ClientID: strings.TrimSpace(c.PostForm("client")), Profile: c.PostForm("profile"),
		Since: p.now().Add(-time.Duration(hours) * time.Hour)}
	run, _, err := so.Run(c.Request.Context(), v.account, id, req)
	var inv *tenant.InvalidError
	switch {
	case errors.As(err, &inv):
		p.showTestRequest(c, v, http.StatusBadRequest, inv.Error())
		return
	case errors.Is(err, conformance.ErrBadRun) || errors.Is(err, conformance.ErrUnknownProfile):
		p.showTestRequest(c, v, http.StatusBadRequest, "Choose an app and one of the request's profiles.")
		return
	case err != nil:
		p.failRequest(c, v, err)
		return
	}
	c.Redirect(http.StatusSeeOther, requestPath(id)+"/runs/"+url.PathEscape(run.ID))
}

// requestRunData is the page of a run of a request.
type requestRunData struct {
	Request  *tenant.TestRequest
	Run      *conformance.Run
	Counts   conformance.Counts
	Passed   bool
	Decision *tenant.Decision
	// CanDecide shows the approve/reject form.
	CanDecide bool
	Error     string
}

// requestRunPage shows a run of the request with its decision, or the
// form to decide it.
func (p *Portal) requestRunPage(c *gin.Context, v *visit) { p.showRequestRun(c, v, http.StatusOK, "") }

func (p *Portal) showRequestRun(c *gin.Context, v *visit, status int, formError string) {
	ctx := c.Request.Context()
	so, kept := p.signoff()
	t, err := p.d.Tenants.TestRequestFor(ctx, v.account, c.Param("req"))
	if err != nil {
		p.failRequest(c, v, err)
		return
	}
	if !kept {
		p.notFound(c, v)
		return
	}
	run, err := so.ParsedReport(ctx, v.account, t, c.Param("run"))
	if err != nil {
		p.failRequest(c, v, err)
		return
	}
	d := requestRunData{Request: t, Run: run, Counts: run.Counts(), Passed: run.Passed(), Error: formError}
	if dec, ok := t.DecisionOn(run.ID); ok {
		d.Decision = &dec
	}
	d.CanDecide = isReviewer(v.account) && d.Decision == nil && (t.State == tenant.StateAccepted || t.State == tenant.StateRejected)
	p.render(c, v, status, "request_run", run.Profile.Title+" — "+t.Product, d)
}

// decideRun approves or rejects a run of the request.
func (p *Portal) decideRun(c *gin.Context, v *visit) {
	id, run := c.Param("req"), c.Param("run")
	so, kept := p.signoff()
	if !kept {
		p.notFound(c, v)
		return
	}
	verdict := c.PostForm("verdict")
	_, err := so.Decide(c.Request.Context(), v.account, id, run, verdict, c.PostForm("comment"))
	var inv *tenant.InvalidError
	if errors.As(err, &inv) {
		p.showRequestRun(c, v, http.StatusBadRequest, inv.Error())
		return
	}
	if err != nil {
		p.failRequest(c, v, err)
		return
	}
	c.Redirect(http.StatusSeeOther, requestPath(id)+"?done="+url.QueryEscape(verdict))
}

// diffData is the comparison page's.
type diffData struct {
	Request *tenant.TestRequest
	*signoff.Comparison
	Changes []conformance.Change
}

// requestDiffPage compares two runs of the request check by check.
func (p *Portal) requestDiffPage(c *gin.Context, v *visit) {
	ctx := c.Request.Context()
	so, kept := p.signoff()
	t, err := p.d.Tenants.TestRequestFor(ctx, v.account, c.Param("req"))
	if err != nil {
		p.failRequest(c, v, err)
		return
	}
	if !kept || c.Query("from") == "" || c.Query("to") == "" {
		p.notFound(c, v)
		return
	}
	cmp, err := so.Compare(ctx, v.account, t, c.Query("from"), c.Query("to"))
	if err != nil {
		p.failRequest(c, v, err)
		return
	}
	changes := []conformance.Change{conformance.NewFailure, conformance.Fixed, conformance.Changed, conformance.Unchanged,
		conformance.Added, conformance.Removed}
	changes = slices.DeleteFunc(changes, func(ch conformance.Change) bool { return cmp.Counts[ch] == 0 })
	p.render(c, v, http.StatusOK, "request_diff", "Runs compared — "+t.Product, diffData{Request: t, Comparison: cmp, Changes: changes})
}
