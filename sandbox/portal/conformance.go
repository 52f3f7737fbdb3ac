package portal

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/tenant"
)

// runsListed bounds the runs the runs page shows.
const runsListed = 50

// windows are the choices of the run form's time window, in hours.
var windows = []int{1, 24, 24 * 7, 24 * 30}

// checksData is the checks page's.
type checksData struct {
	Checks   []conformance.Check
	Profiles []conformance.Profile
}

// checksPage lists every check, with its citation, and the profiles.
func (p *Portal) checksPage(c *gin.Context, v *visit) {
	reg := p.registry()
	p.render(c, v, http.StatusOK, "checks", "Conformance checks", checksData{Checks: reg.Checks(), Profiles: reg.Profiles()})
}

// registry is the runner's check registry, or this package's default.
func (p *Portal) registry() *conformance.Registry {
	if p.d.Conformance != nil {
		return p.d.Conformance.Registry
	}
	return conformance.Default()
}

// runsData is the runs page's.
type runsData struct {
	Sandbox  *tenant.Sandbox
	Kept     bool
	Apps     []*tenant.App
	Profiles []conformance.Profile
	Windows  []int
	Runs     []*conformance.Run
	Error    string
	// Chart is the newest run's results per profile and app.
	Chart template.HTML
}

// runsPage lists a sandbox's runs, newest first, with the form that
// starts one.
func (p *Portal) runsPage(c *gin.Context, v *visit) { p.showRuns(c, v, http.StatusOK, "") }

func (p *Portal) showRuns(c *gin.Context, v *visit, status int, formError string) {
	ctx := c.Request.Context()
	sb, err := p.d.Tenants.SandboxFor(ctx, v.account, c.Param("sb"))
	if err != nil {
		p.fail(c, v, err)
		return
	}
	apps, err := p.d.Tenants.Apps(ctx, v.account, sb.ID)
	if err != nil {
		p.fail(c, v, err)
		return
	}
	d := runsData{Sandbox: sb, Kept: p.d.Conformance != nil && p.d.Conformance.Reports != nil, Apps: apps,
		Profiles: p.registry().Profiles(), Windows: windows, Error: formError}
	if d.Kept {
		reports, err := p.d.Conformance.Reports.List(ctx, sb.ID, runsListed)
		if err != nil {
			p.fail(c, v, err)
			return
		}
		for _, b := range reports {
			if run, err := conformance.ParseTestReport(b, sb.ID, p.registry()); err == nil {
				d.Runs = append(d.Runs, run)
			}
		}
	}
	d.Chart = runsChart(d.Runs)
	p.render(c, v, status, "runs", "Conformance runs in "+sb.Name, d)
}

// startRun judges an app's exchanges of the chosen window against the
// chosen profile and shows the run. Whoever may see the sandbox may run
// checks over its log, as in the admin API.
func (p *Portal) startRun(c *gin.Context, v *visit) {
	ctx := c.Request.Context()
	sb, err := p.d.Tenants.SandboxFor(ctx, v.account, c.Param("sb"))
	if err != nil {
		p.fail(c, v, err)
		return
	}
	if p.d.Conformance == nil {
		p.renderStatus(c, v, http.StatusNotFound, "No request log", "This server keeps no request log, so there is nothing to judge.")
		return
	}
	hours, err := strconv.Atoi(c.PostForm("hours"))
	if err != nil || hours < 1 || hours > 24*366 {
		p.showRuns(c, v, http.StatusBadRequest, "Window: choose how far back to judge.")
		return
	}
	req := conformance.RunRequest{ClientID: c.PostForm("client"), Profile: c.PostForm("profile"),
		Since: p.now().Add(-time.Duration(hours) * time.Hour)}
	run, err := p.d.Conformance.Run(ctx, sb.ID, req)
	if errors.Is(err, conformance.ErrBadRun) || errors.Is(err, conformance.ErrUnknownProfile) {
		p.showRuns(c, v, http.StatusBadRequest, "Choose an app and a profile.")
		return
	}
	if err != nil {
		p.fail(c, v, err)
		return
	}
	p.log.InfoContext(ctx, "portal: conformance run", "sandbox", sb.ID, "client_id", req.ClientID, "profile", req.Profile,
		"run", run.ID, "by", v.account.Username)
	c.Redirect(http.StatusSeeOther, "/portal/sandboxes/"+url.PathEscape(sb.ID)+"/runs/"+url.PathEscape(run.ID))
}

// runData is the run page's.
type runData struct {
	Sandbox *tenant.Sandbox
	Run     *conformance.Run
	Counts  conformance.Counts
	Passed  bool
	// Chart is the run's results as stacked bars.
	Chart template.HTML
}

// runDownloads are the files a run page offers, by ?format.
var runDownloads = map[string]struct {
	contentType, ext string
	write            func(*conformance.Run, io.Writer) error
}{
	"json":  {"application/fhir+json", "json", (*conformance.Run).WriteJSON},
	"junit": {"application/xml; charset=utf-8", "xml", (*conformance.Run).WriteJUnit},
	"html":  {"text/html; charset=utf-8", "html", (*conformance.Run).WriteHTML},
}

// runPage shows one run's results, or with ?format=json, junit or html
// gives its report as a file to keep.
func (p *Portal) runPage(c *gin.Context, v *visit) {
	ctx := c.Request.Context()
	sb, err := p.d.Tenants.SandboxFor(ctx, v.account, c.Param("sb"))
	if err != nil {
		p.fail(c, v, err)
		return
	}
	if p.d.Conformance == nil || p.d.Conformance.Reports == nil {
		p.notFound(c, v)
		return
	}
	b, err := p.d.Conformance.Reports.Get(ctx, sb.ID, c.Param("run"))
	if errors.Is(err, conformance.ErrNoRun) {
		p.notFound(c, v)
		return
	}
	if err != nil {
		p.fail(c, v, err)
		return
	}
	run, err := conformance.ParseTestReport(b, sb.ID, p.registry())
	if err != nil {
		p.fail(c, v, err)
		return
	}
	if format := c.Query("format"); format != "" {
		dl, ok := runDownloads[format]
		if !ok {
			p.renderStatus(c, v, http.StatusBadRequest, "Not accepted", "The report comes as json, junit or html.")
			return
		}
		var out bytes.Buffer
		if err := dl.write(run, &out); err != nil {
			p.fail(c, v, err)
			return
		}
		c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, run.ID, dl.ext))
		c.Data(http.StatusOK, dl.contentType, out.Bytes())
		return
	}
	p.render(c, v, http.StatusOK, "run", run.Profile.Title+" — "+run.ClientID, runData{Sandbox: sb, Run: run,
		Counts: run.Counts(), Passed: run.Passed(), Chart: runChart(run)})
}
