package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

// assets are the page templates and the static files (CSS, a little JS).
//
//go:embed templates static
var assets embed.FS

// pageTemplate is one page: the layout with the page's "content".
type pageTemplate = *template.Template

var templateFuncs = template.FuncMap{
	"requiredProfiles": requiredProfilesText,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"ms": func(d time.Duration) string {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	},
	"bytes": func(n int64) string {
		switch {
		case n < 1024:
			return fmt.Sprintf("%d B", n)
		case n < 1024*1024:
			return fmt.Sprintf("%.1f kB", float64(n)/1024)
		}
		return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
	},
	// statusClass names the CSS class of an HTTP status.
	"statusClass": func(status int) string {
		switch status / 100 {
		case 2:
			return "st-ok"
		case 3:
			return "st-redirect"
		case 4:
			return "st-client"
		case 5:
			return "st-server"
		}
		return ""
	},
	"fields": strings.Fields,
	// has reports whether list holds s.
	"has": func(list []string, s string) bool { return slices.Contains(list, s) },
	"inc": func(i int) int { return i + 1 },
	// decisionOn is the decision on a run of a test request, or nil.
	"decisionOn": func(t *tenant.TestRequest, run string) *tenant.Decision {
		if d, ok := t.DecisionOn(run); ok {
			return &d
		}
		return nil
	},
	"join": strings.Join,
}

// parsePages parses each page of templates/ together with the layout.
func parsePages() (map[string]pageTemplate, error) {
	base, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("portal: layout template: %w", err)
	}
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]pageTemplate{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, f)
		if err != nil {
			return nil, fmt.Errorf("portal: template %s: %w", f, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// view is what every page template gets: the layout's fields and the
// page's own Data.
type view struct {
	Title   string
	Account *tenant.Account // nil when signed out
	// CSRF is the token every form carries in its csrf field.
	CSRF string
	// OIDC names the external sign-in provider, "" when there is none.
	OIDC string
	Data any
}

// render writes page with status. Pages are rendered into a buffer first,
// so that a template error shows an error page rather than half a page.
func (p *Portal) render(c *gin.Context, v *visit, status int, page, title string, data any) {
	vw := view{Title: title, Account: v.account, CSRF: p.csrfToken(v.sess), Data: data}
	if p.oidc != nil {
		vw.OIDC = p.oidc.cfg.Name
	}
	var buf bytes.Buffer
	t, ok := p.pages[page]
	if !ok {
		panic("portal: no page template " + page) // a programming error, caught by every page test
	}
	if err := t.ExecuteTemplate(&buf, "layout", vw); err != nil {
		p.log.ErrorContext(c.Request.Context(), "portal: rendering page failed", "page", page, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>The page could not be shown.</p>")
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// message is the data of the message page: a title and one paragraph.
type message struct {
	Text string
}

// renderStatus shows a page with just a title and a message.
func (p *Portal) renderStatus(c *gin.Context, v *visit, status int, title, text string) {
	p.render(c, v, status, "message", title, message{Text: text})
}
