package guides

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"
)

//go:embed page.html style.css favicon.svg
var assets embed.FS

var pageTemplate = template.Must(template.ParseFS(assets, "page.html"))

// Handler serves the guides as HTML below the set's prefix: the index,
// one page per guide (/guides/{slug}, and /guides/{slug}.md sends there,
// so that the Markdown's own links work), a search (/guides/search?q=),
// the API reference (/guides/api, when a document is given) and the
// stylesheet. Pages carry no script and load nothing from elsewhere.
type Handler struct {
	set    *Set
	prefix string
	css    []byte
	ref    *reference
	links  []Link
}

// Link is an entry of the pages' navigation besides the guides.
type Link struct {
	Title string
	URL   string
}

// NewHandler returns the handler of set, served under prefix (/guides).
// openAPI, when not nil, is the server's OpenAPI document, rendered as
// the reference page; links are shown under the guides in the navigation.
func NewHandler(set *Set, prefix string, openAPI []byte, links []Link) (*Handler, error) {
	style, err := assets.ReadFile("style.css")
	if err != nil {
		return nil, err
	}
	h := &Handler{set: set, prefix: prefix, css: append(style, codeCSS()...), links: links}
	if openAPI != nil {
		if h.ref, err = newReference(openAPI); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// page is what the page template renders.
type page struct {
	Prefix  string
	Title   string
	Guides  []*Guide
	Current string // slug of the guide shown, "-" for none
	Links   []Link
	HasAPI  bool
	Query   string
	Body    template.HTML
	TOC     []Section
	Hits    []Hit
	Search  bool
	Ref     *reference
	Missing bool
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		h.notFound(w)
		return
	}
	rest = strings.TrimPrefix(rest, "/")
	p := page{Prefix: h.prefix, Guides: h.set.Guides, Links: h.links, HasAPI: h.ref != nil, Current: "-"}
	switch {
	case rest == "style.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(h.css)
		return
	case rest == "favicon.svg":
		icon, _ := assets.ReadFile("favicon.svg")
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		_, _ = w.Write(icon)
		return
	case rest == "search":
		p.Title, p.Search = "Search", true
		p.Query = r.URL.Query().Get("q")
		p.Hits = h.set.Search(p.Query)
	case rest == "api" && h.ref != nil:
		p.Title, p.Ref, p.Current = "API reference", h.ref, "api"
		for _, g := range h.ref.Groups {
			p.TOC = append(p.TOC, Section{Level: 2, ID: g.ID, Title: g.Name})
		}
	case strings.HasSuffix(rest, ".md"):
		slug := strings.TrimSuffix(rest, ".md")
		if slug == "README" {
			slug = ""
		}
		if h.set.Guide(slug) == nil {
			h.notFound(w)
			return
		}
		target := h.prefix
		if slug != "" {
			target += "/" + slug
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	default:
		g := h.set.Guide(rest)
		if g == nil {
			h.notFound(w)
			return
		}
		p.Title, p.Body, p.TOC, p.Current = g.Title, g.HTML, g.Sections, g.Slug
	}
	h.write(w, http.StatusOK, p)
}

func (h *Handler) notFound(w http.ResponseWriter) {
	h.write(w, http.StatusNotFound, page{Prefix: h.prefix, Guides: h.set.Guides, Links: h.links, HasAPI: h.ref != nil,
		Title: "Not found", Missing: true, Current: "-"})
}

func (h *Handler) write(w http.ResponseWriter, status int, p page) {
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
