package guides

import (
	"bytes"
	"fmt"
	"html"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// codeStyle is the chroma style of highlighted code; its CSS is served
// with the pages, so that code needs no inline styles.
const codeStyle = "github"

// slugify makes a heading's anchor as the repository host does, so that
// a link to guide.md#anchor works on both: lower case, letters, digits,
// '-' and '_' kept, spaces turned into '-', everything else dropped.
func slugify(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// headingIDs gives headings their anchors, numbering repeats (-1, -2) as
// the repository host does.
type headingIDs struct{ used map[string]bool }

func (h *headingIDs) Generate(value []byte, _ ast.NodeKind) []byte {
	base := slugify(string(value))
	id := base
	for i := 1; h.used[id]; i++ {
		id = base + "-" + strconv.Itoa(i)
	}
	h.used[id] = true
	return []byte(id)
}

func (h *headingIDs) Put(value []byte) { h.used[string(value)] = true }

// plainText is the text of n's inline content, code spans included.
func plainText(n ast.Node, source []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := c.(type) {
		case *ast.Text:
			b.Write(t.Segment.Value(source))
			if t.SoftLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(t.Value)
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// linkRewriter points the guides' links, written for the repository host,
// at the served pages: other.md#x becomes /guides/other#x, README.md the
// index; a link to a repository file outside the guides becomes the
// repository's copy when a repository URL is known, else plain text.
type linkRewriter struct {
	prefix string // "/guides"
	repo   string // e.g. https://github.com/org/hpsandbox/blob/main, or ""
}

func (l linkRewriter) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var unlink []*ast.Link
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		link, ok := n.(*ast.Link)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		dest, keep := l.rewrite(string(link.Destination))
		if !keep {
			unlink = append(unlink, link)
			return ast.WalkContinue, nil
		}
		link.Destination = []byte(dest)
		return ast.WalkContinue, nil
	})
	for _, link := range unlink {
		parent := link.Parent()
		for c := link.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, link, c)
			c = next
		}
		parent.RemoveChild(parent, link)
	}
}

// rewrite returns the served form of a guide's link destination, or false
// when it has none.
func (l linkRewriter) rewrite(dest string) (string, bool) {
	u, err := url.Parse(dest)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(dest, "/") || strings.HasPrefix(dest, "#") {
		return dest, true
	}
	file := u.Path
	frag := ""
	if u.Fragment != "" {
		frag = "#" + u.Fragment
	}
	if !strings.Contains(file, "/") && strings.HasSuffix(file, ".md") {
		if file == indexFile {
			return l.prefix + frag, true
		}
		return l.prefix + "/" + strings.TrimSuffix(file, ".md") + frag, true
	}
	if l.repo == "" {
		return "", false
	}
	return l.repo + "/" + path.Clean(path.Join(guidesDir, file)) + frag, true
}

// codeRenderer renders fenced code highlighted by chroma, with classes
// (the stylesheet is served beside the pages), and labels the blocks the
// example runner executes or compares.
type codeRenderer struct{}

func (codeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindFencedCodeBlock, renderFenced)
}

func renderFenced(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.FencedCodeBlock)
	info := ""
	if n.Info != nil {
		info = string(n.Info.Segment.Value(source))
	}
	lang, attrs := splitInfo(info)
	var code bytes.Buffer
	for i := range n.Lines().Len() {
		line := n.Lines().At(i)
		code.Write(line.Value(source))
	}
	class, label := "code", ""
	switch {
	case attrs["example"]:
		class, label = "code example", "Example: run against a sandbox by go test"
	case lang == expectLang:
		class, label = "code expect", "Expected answer"
	}
	fmt.Fprintf(w, `<div class="%s">`, class)
	if label != "" {
		fmt.Fprintf(w, `<div class="code-label">%s</div>`, html.EscapeString(label))
	}
	if err := highlight(w, lang, code.String()); err != nil {
		return ast.WalkStop, err
	}
	_, _ = w.WriteString("</div>\n")
	return ast.WalkSkipChildren, nil
}

func highlight(w util.BufWriter, lang, code string) error {
	lexer := lexers.Get(lang)
	if lexer == nil || lang == "" || lang == expectLang {
		lexer = lexers.Fallback
	}
	it, err := chroma.Coalesce(lexer).Tokenise(nil, code)
	if err != nil {
		return err
	}
	return chromahtml.New(chromahtml.WithClasses(true)).Format(w, styles.Get(codeStyle), it)
}

// codeCSS is the stylesheet of highlighted code.
func codeCSS() string {
	var b bytes.Buffer
	if err := chromahtml.New(chromahtml.WithClasses(true)).WriteCSS(&b, styles.Get(codeStyle)); err != nil {
		panic(err) // writes to a buffer
	}
	return b.String()
}

// newMarkdown is the renderer of one guide: GitHub-flavoured Markdown
// (tables, task lists, autolinks), raw HTML escaped, anchors as the
// repository host makes them.
func newMarkdown(links linkRewriter) goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithParserOptions(
			parser.WithAutoHeadingID(),
			parser.WithASTTransformers(util.Prioritized(links, 100)),
		),
		goldmark.WithRendererOptions(
			renderer.WithNodeRenderers(util.Prioritized(codeRenderer{}, 100)),
			gmhtml.WithXHTML(),
		),
	)
}

// splitInfo splits a fence's info string ("sh example") into its
// language and its words after it.
func splitInfo(info string) (string, map[string]bool) {
	f := strings.Fields(info)
	if len(f) == 0 {
		return "", nil
	}
	attrs := map[string]bool{}
	for _, a := range f[1:] {
		attrs[a] = true
	}
	return f[0], attrs
}
