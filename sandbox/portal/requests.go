package portal

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/portal/chart"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// requestsPerPage is the page size of the request log.
const requestsPerPage = 50

// logMethods are the methods the request log filter offers.
var logMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// requestsData is the request log page's.
type requestsData struct {
	Sandbox *tenant.Sandbox
	// Kept is false when the gateway keeps no request log.
	Kept    bool
	Apps    []*tenant.App
	Methods []string
	// Filter is the form's current values.
	Filter  logFilter
	Entries []requestlog.Entry
	// NextURL is the next (older) page, "" on the last; NewestURL the
	// first page of the same filter.
	NextURL, NewestURL string
	// Paged says this is not the first page.
	Paged bool
	// Timeline is the chosen app's newest calls (up to
	// requestlog.MaxLimit) drawn over time, "" when no app is chosen.
	Timeline template.HTML
}

// logFilter is the filter form as the query carries it.
type logFilter struct {
	Client, Method, Class, Path string
	// RequestID picks one exchange, as a conformance run's evidence
	// names it.
	RequestID string
}

func (f logFilter) values() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"client": f.Client, "method": f.Method, "class": f.Class, "path": f.Path,
		"request_id": f.RequestID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// timelineSpan is the longest stretch of time the timeline shows.
const timelineSpan = 24 * time.Hour

// callTimeline draws an app's calls over time, coloured by status class.
// Calls more than timelineSpan before the app's newest are left out (and
// counted in the caption), so that a session of calls reads apart rather
// than as one line beside last month's.
func callTimeline(client string, entries []requestlog.Entry) template.HTML {
	marks := make([]chart.Mark, 0, len(entries))
	var newest time.Time
	older := 0
	for _, e := range entries {
		if e.Time.After(newest) {
			newest = e.Time
		}
	}
	for _, e := range entries {
		if newest.Sub(e.Time) > timelineSpan {
			older++
			continue
		}
		label := e.Method + " " + e.Path
		if e.Query != "" {
			label += "?" + e.Query
		}
		marks = append(marks, chart.Mark{T: e.Time, Class: strconv.Itoa(e.Status / 100), Label: label + " → " + strconv.Itoa(e.Status)})
	}
	title := "Calls of " + client + " over time, by status"
	if older > 0 {
		title += fmt.Sprintf(" (the last %d hours before its newest; %d older not shown)", int(timelineSpan.Hours()), older)
	}
	svg := chart.Timeline{Title: title, Classes: chart.StatusClasses, Marks: marks, Width: 960}.SVG()
	// The chart package escapes every text it writes.
	return template.HTML(svg) //nolint:gosec // see above
}

func (p *Portal) requestsPage(c *gin.Context, v *visit) {
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
	lf := logFilter{Client: c.Query("client"), Method: strings.ToUpper(c.Query("method")),
		Class: c.Query("class"), Path: c.Query("path"), RequestID: c.Query("request_id")}
	d := requestsData{Sandbox: sb, Kept: p.d.Requests != nil, Apps: apps, Methods: logMethods, Filter: lf}
	path := c.Request.URL.Path
	d.NewestURL = path + "?" + lf.values().Encode()
	if !d.Kept {
		p.render(c, v, http.StatusOK, "requests", "Request log of "+sb.Name, d)
		return
	}
	f := requestlog.Filter{Sandbox: sb.ID, ClientID: lf.Client, Method: lf.Method, PathContains: lf.Path,
		RequestID: lf.RequestID, Limit: requestsPerPage}
	if lf.Class != "" {
		if f.StatusClass, err = strconv.Atoi(lf.Class); err != nil || f.StatusClass < 1 || f.StatusClass > 5 {
			p.renderStatus(c, v, http.StatusBadRequest, "Not accepted", "Status class: want 1 to 5 (2 for 2xx, 4 for 4xx …).")
			return
		}
	}
	if b := c.Query("before"); b != "" {
		if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before < 0 {
			p.renderStatus(c, v, http.StatusBadRequest, "Not accepted", "The paging cursor is malformed; start again from the newest entries.")
			return
		}
		d.Paged = true
	}
	pg, err := p.d.Requests.Query(ctx, f)
	if errors.Is(err, requestlog.ErrBadFilter) {
		p.renderStatus(c, v, http.StatusBadRequest, "Not accepted", err.Error())
		return
	}
	if err != nil {
		p.fail(c, v, err)
		return
	}
	d.Entries = pg.Entries
	if lf.Client != "" {
		tf := f
		tf.Before, tf.Limit = 0, requestlog.MaxLimit
		if d.Paged || len(pg.Entries) == requestsPerPage {
			if pg, err = p.d.Requests.Query(ctx, tf); err != nil {
				p.fail(c, v, err)
				return
			}
		}
		d.Timeline = callTimeline(lf.Client, pg.Entries)
	}
	if pg.Next != 0 {
		q := lf.values()
		q.Set("before", strconv.FormatInt(pg.Next, 10))
		d.NextURL = path + "?" + q.Encode()
	}
	p.render(c, v, http.StatusOK, "requests", "Request log of "+sb.Name, d)
}
