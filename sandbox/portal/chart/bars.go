package chart

import (
	"fmt"
	"strings"
)

// Segment is one part of a stacked bar: how many results of one kind.
type Segment struct {
	Class string // a key of the Bars' Classes
	N     int
}

// Bar is one stacked bar: a label (a profile) and its segments.
type Bar struct {
	Label    string
	Segments []Segment
}

// ResultClasses are the results of conformance checks, in the order they
// stack.
var ResultClasses = []Class{
	{"pass", "pass", "#2e7d32"},
	{"fail", "fail", "#c62828"},
	{"warning", "warning", "#e69f00"},
	{"skip", "skip", "#9e9e9e"},
}

// Bars is a horizontal stacked bar chart, one bar per label, each as long
// as its total.
type Bars struct {
	Title   string
	Classes []Class
	Bars    []Bar
	// Width is the picture's width in pixels; 0 is 640.
	Width int
}

const barHeight = 26

// SVG draws the bars.
func (b Bars) SVG() string {
	w := b.Width
	if w <= 0 {
		w = 640
	}
	left, right := 270.0, float64(w-50)
	top := 34.0
	h := int(top) + (barHeight+8)*max(1, len(b.Bars)) + 8
	colour := map[string]Class{}
	for _, c := range b.Classes {
		colour[c.Key] = c
	}
	most := 0
	var descs []string
	for _, bar := range b.Bars {
		total := 0
		var parts []string
		for _, sg := range bar.Segments {
			if c, ok := colour[sg.Class]; ok && sg.N > 0 {
				total += sg.N
				parts = append(parts, fmt.Sprintf("%d %s", sg.N, c.Name))
			}
		}
		most = max(most, total)
		descs = append(descs, fmt.Sprintf("%s: %s", bar.Label, strings.Join(parts, ", ")))
	}
	var s svgWriter
	s.start(w, h, "chart bars", b.Title, strings.Join(descs, "; ")+".")
	// Legend.
	x := left
	for _, c := range b.Classes {
		s.empty("rect", "x", num(x), "y", "8", "width", "10", "height", "10", "fill", c.Colour)
		s.text("text", c.Name, "x", num(x+14), "y", "17")
		x += 28 + 7*float64(len([]rune(c.Name)))
	}
	if most == 0 {
		s.text("text", "No results to show.", "x", num(float64(w)/2), "y", num(top+barHeight/2+4), "text-anchor", "middle", "class", "empty")
		return s.String()
	}
	scale := (right - left) / float64(most)
	for i, bar := range b.Bars {
		y := top + float64(i*(barHeight+8))
		s.open("g", "class", "bar")
		s.text("text", clip(bar.Label, 40), "x", num(left-8), "y", num(y+barHeight/2+4), "text-anchor", "end")
		x, total := left, 0
		for _, sg := range bar.Segments {
			c, ok := colour[sg.Class]
			if !ok || sg.N <= 0 {
				continue
			}
			wd := float64(sg.N) * scale
			s.open("rect", "x", num(x), "y", num(y), "width", num(wd), "height", num(barHeight), "fill", c.Colour)
			s.text("title", fmt.Sprintf("%s: %d %s", bar.Label, sg.N, c.Name))
			s.close("rect")
			if wd >= 18 {
				s.text("text", fmt.Sprint(sg.N), "x", num(x+wd/2), "y", num(y+barHeight/2+4), "text-anchor", "middle", "fill", "#ffffff")
			}
			x += wd
			total += sg.N
		}
		s.text("text", fmt.Sprint(total), "x", num(x+6), "y", num(y+barHeight/2+4))
		s.close("g")
	}
	return s.String()
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
