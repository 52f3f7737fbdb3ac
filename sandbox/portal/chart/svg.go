package chart

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
)

// svgWriter builds SVG text; every attribute value and text it is given is
// escaped.
type svgWriter struct {
	b strings.Builder
}

// esc escapes s for an attribute value or text node. Runes XML does not
// allow at all (most control characters, invalid UTF-8) become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	clean := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF) {
			return r
		}
		return '\uFFFD'
	}, strings.ToValidUTF8(s, "\uFFFD"))
	_ = xml.EscapeText(&b, []byte(clean))
	return b.String()
}

// num formats a coordinate: two decimals at most, never NaN or Inf.
func num(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

// open starts an element with attributes given as name, value pairs.
func (w *svgWriter) open(name string, attrs ...string) {
	w.tag(name, false, attrs)
}

// empty writes an element without content.
func (w *svgWriter) empty(name string, attrs ...string) {
	w.tag(name, true, attrs)
}

func (w *svgWriter) tag(name string, selfClose bool, attrs []string) {
	w.b.WriteString("<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		w.b.WriteString(" " + attrs[i] + `="` + esc(attrs[i+1]) + `"`)
	}
	if selfClose {
		w.b.WriteString("/>")
	} else {
		w.b.WriteString(">")
	}
}

func (w *svgWriter) close(name string) { w.b.WriteString("</" + name + ">") }

// text writes an element holding text.
func (w *svgWriter) text(name, content string, attrs ...string) {
	w.open(name, attrs...)
	w.b.WriteString(esc(content))
	w.close(name)
}

// start opens the svg element with its accessible title; desc, when not
// empty, is a longer description.
func (w *svgWriter) start(width, height int, class, title, desc string) {
	w.open("svg", "xmlns", "http://www.w3.org/2000/svg", "viewBox", "0 0 "+strconv.Itoa(width)+" "+strconv.Itoa(height),
		"width", strconv.Itoa(width), "height", strconv.Itoa(height), "class", class, "role", "img", "aria-label", title)
	w.text("title", title)
	if desc != "" {
		w.text("desc", desc)
	}
}

func (w *svgWriter) String() string {
	w.close("svg")
	return w.b.String()
}
