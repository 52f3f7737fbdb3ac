package guides

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"slices"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// The guides are the Markdown files of this folder; the index is the
// folder's README, which the repository host shows too.
const (
	indexFile = "README.md"
	guidesDir = "sandbox/guides"
)

//go:embed *.md
var files embed.FS

// Guide is one guide, parsed and rendered.
type Guide struct {
	// Slug names it in URLs: /guides/{slug}; the index's is "".
	Slug string
	// File is its Markdown file, e.g. searching.md.
	File string
	// Title is its first heading.
	Title string
	// Source is the Markdown.
	Source []byte
	// HTML is the rendered body.
	HTML template.HTML
	// Sections are its headings below the title, in order, with the
	// text under each (for the table of contents and the search).
	Sections []Section
	// Anchors are the ids of all its headings, the title's included.
	Anchors map[string]bool
	// Links are the destinations of its links, as written.
	Links []string
}

// Section is a heading of a guide and the plain text under it.
type Section struct {
	Level int
	ID    string
	Title string
	Text  string
}

// Set is the guides, rendered once.
type Set struct {
	// Index is README.md; Guides are the guides in the order the index
	// links them.
	Index  *Guide
	Guides []*Guide
	bySlug map[string]*Guide
}

// Options say how the guides are rendered.
type Options struct {
	// Prefix is the path the guides are served under; default /guides.
	Prefix string
	// Repository is the URL that repository-relative links (to source
	// files) resolve against, e.g. https://host/org/hpsandbox/blob/main;
	// empty leaves such links as plain text.
	Repository string
}

// Load parses and renders the embedded guides.
func Load(opts Options) (*Set, error) {
	if opts.Prefix == "" {
		opts.Prefix = "/guides"
	}
	md := newMarkdown(linkRewriter{prefix: opts.Prefix, repo: strings.TrimRight(opts.Repository, "/")})
	names, err := fs.Glob(files, "*.md")
	if err != nil {
		return nil, err
	}
	s := &Set{bySlug: map[string]*Guide{}}
	all := map[string]*Guide{}
	for _, name := range names {
		src, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		g, err := render(md, name, src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		all[name] = g
	}
	s.Index = all[indexFile]
	if s.Index == nil {
		return nil, fmt.Errorf("the guides have no %s", indexFile)
	}
	for _, name := range linkedGuides(s.Index.Source) {
		if g := all[name]; g != nil && !slices.Contains(s.Guides, g) {
			s.Guides = append(s.Guides, g)
		}
	}
	for name, g := range all {
		if g != s.Index && !slices.Contains(s.Guides, g) {
			return nil, fmt.Errorf("%s is not linked from %s", name, indexFile)
		}
		s.bySlug[g.Slug] = g
	}
	return s, nil
}

// Guide returns the guide of slug, or nil.
func (s *Set) Guide(slug string) *Guide { return s.bySlug[slug] }

// render parses one guide, collects its sections and renders it.
func render(md goldmark.Markdown, name string, src []byte) (*Guide, error) {
	ctx := parser.NewContext(parser.WithIDs(&headingIDs{used: map[string]bool{}}))
	doc := md.Parser().Parse(text.NewReader(src), parser.WithContext(ctx))
	g := &Guide{File: name, Source: src, Slug: strings.TrimSuffix(name, ".md"), Anchors: map[string]bool{}}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := n.(type) {
		case *ast.Heading:
			if id, ok := t.AttributeString("id"); ok {
				if b, ok := id.([]byte); ok {
					g.Anchors[string(b)] = true
				}
			}
		}
		return ast.WalkContinue, nil
	})
	g.Links = allLinks(src)
	if name == indexFile {
		g.Slug = ""
	}
	var cur *Section
	var body strings.Builder
	flush := func() {
		if cur != nil {
			cur.Text = strings.Join(strings.Fields(body.String()), " ")
			g.Sections = append(g.Sections, *cur)
		}
		body.Reset()
	}
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if h, ok := n.(*ast.Heading); ok {
			title := plainText(h, src)
			if h.Level == 1 && g.Title == "" {
				g.Title = title
				continue
			}
			flush()
			id, _ := h.AttributeString("id")
			idb, _ := id.([]byte)
			cur = &Section{Level: h.Level, ID: string(idb), Title: title}
			continue
		}
		if cur == nil {
			cur = &Section{Level: 1, Title: g.Title}
		}
		body.WriteString(blockText(n, src))
		body.WriteByte(' ')
	}
	flush()
	if g.Title == "" {
		return nil, fmt.Errorf("no title: a guide starts with a level-1 heading")
	}
	var out bytes.Buffer
	if err := md.Renderer().Render(&out, src, doc); err != nil {
		return nil, err
	}
	g.HTML = template.HTML(out.String()) // goldmark escapes raw HTML (no WithUnsafe)
	return g, nil
}

// blockText is the plain text of a block, code included.
func blockText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := c.(type) {
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			for i := range t.Lines().Len() {
				line := t.Lines().At(i)
				b.Write(line.Value(src))
			}
			return ast.WalkSkipChildren, nil
		case *ast.Text:
			b.Write(t.Segment.Value(src))
			b.WriteByte(' ')
		case *ast.String:
			b.Write(t.Value)
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// allLinks lists the destinations of a Markdown text's links, as
// written (before they are rewritten for serving).
func allLinks(src []byte) []string {
	var out []string
	doc := goldmark.New(goldmark.WithExtensions(extension.GFM)).Parser().Parse(text.NewReader(src))
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := n.(type) {
		case *ast.Link:
			out = append(out, string(t.Destination))
		case *ast.AutoLink:
			out = append(out, string(t.URL(src)))
		}
		return ast.WalkContinue, nil
	})
	return out
}

// linkedGuides lists the guide files a Markdown text links, in order.
func linkedGuides(src []byte) []string {
	var out []string
	for _, l := range allLinks(src) {
		if u, err := url.Parse(l); err == nil && u.Scheme == "" && u.Host == "" &&
			strings.HasSuffix(u.Path, ".md") && !strings.Contains(u.Path, "/") {
			out = append(out, u.Path)
		}
	}
	return out
}
