package chart

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Mark is one event on a timeline: a call in the request log.
type Mark struct {
	T time.Time
	// Class is the mark's kind, one of the Timeline's Classes.
	Class string
	// Label is the mark's tooltip ("GET /Patient 200").
	Label string
}

// Class is one kind of mark: its name (for the legend), and colour.
type Class struct {
	Key, Name, Colour string
}

// StatusClasses are the HTTP status classes 2xx to 5xx, keyed "2" to
// "5", in colours that also differ in lightness.
var StatusClasses = []Class{
	{"2", "2xx success", "#2e7d32"},
	{"3", "3xx redirect", "#0072b2"},
	{"4", "4xx client error", "#e69f00"},
	{"5", "5xx server error", "#c62828"},
}

// Timeline is marks along a time axis, one row per class, so that the
// classes read apart even without colour.
type Timeline struct {
	Title   string
	Classes []Class
	Marks   []Mark
	// Width is the picture's width in pixels; 0 is 720.
	Width int
}

const rowHeight = 22

// SVG draws the timeline.
func (tl Timeline) SVG() string {
	w := tl.Width
	if w <= 0 {
		w = 720
	}
	left, right := 130.0, float64(w-16)
	top := 34.0
	h := int(top) + rowHeight*len(tl.Classes) + 30
	marks := make([]Mark, 0, len(tl.Marks))
	counts := map[string]int{}
	row := map[string]int{}
	for i, c := range tl.Classes {
		row[c.Key] = i
	}
	for _, m := range tl.Marks {
		if _, ok := row[m.Class]; ok && !m.T.IsZero() {
			marks = append(marks, m)
			counts[m.Class]++
		}
	}
	sort.SliceStable(marks, func(i, j int) bool { return marks[i].T.Before(marks[j].T) })

	var parts []string
	for _, c := range tl.Classes {
		parts = append(parts, fmt.Sprintf("%d %s", counts[c.Key], c.Name))
	}
	desc := fmt.Sprintf("%d calls: %s.", len(marks), strings.Join(parts, ", "))
	if len(marks) > 0 {
		desc = fmt.Sprintf("%d calls from %s to %s: %s.", len(marks), marks[0].T.UTC().Format("2006-01-02 15:04:05"),
			marks[len(marks)-1].T.UTC().Format("2006-01-02 15:04:05"), strings.Join(parts, ", "))
	}
	var s svgWriter
	s.start(w, h, "chart timeline", tl.Title, desc)
	if len(marks) == 0 {
		s.text("text", "No calls to show.", "x", num(float64(w)/2), "y", num(float64(h)/2), "text-anchor", "middle", "class", "empty")
		return s.String()
	}
	t0, t1 := marks[0].T, marks[len(marks)-1].T
	if t1.Sub(t0) <= 0 {
		t0, t1 = t0.Add(-30*time.Second), t1.Add(30*time.Second)
	} else {
		pad := t1.Sub(t0) / 40
		t0, t1 = t0.Add(-pad), t1.Add(pad)
	}
	bottom := top + float64(rowHeight*len(tl.Classes))
	a := area{x0: left, x1: right, y0: top, y1: bottom, t0: t0, t1: t1}

	for i, c := range tl.Classes {
		y := top + float64(i*rowHeight)
		s.open("g", "class", "row")
		s.empty("rect", "x", num(4), "y", num(y+6), "width", "10", "height", "10", "fill", c.Colour)
		s.text("text", fmt.Sprintf("%s (%d)", c.Name, counts[c.Key]), "x", "18", "y", num(y+15))
		s.empty("line", "x1", num(left), "x2", num(right), "y1", num(y+rowHeight/2), "y2", num(y+rowHeight/2), "stroke", "#eeeeee")
		s.close("g")
	}
	s.open("g", "class", "axis x")
	s.empty("line", "x1", num(left), "x2", num(right), "y1", num(bottom), "y2", num(bottom), "stroke", "#888888")
	dts, layout := dateTicks(t0, t1, max(2, int(right-left)/110))
	for _, t := range dts {
		x := a.x(t)
		s.empty("line", "x1", num(x), "x2", num(x), "y1", num(bottom), "y2", num(bottom+4), "stroke", "#888888")
		s.text("text", t.Format(layout), "x", num(x), "y", num(bottom+18), "text-anchor", "middle")
	}
	s.close("g")
	s.open("g", "class", "marks")
	for _, m := range marks {
		i := row[m.Class]
		c := tl.Classes[i]
		y := top + float64(i*rowHeight)
		x := a.x(m.T)
		s.open("rect", "x", num(x-1.5), "y", num(y+4), "width", "3", "height", num(rowHeight-8), "fill", c.Colour)
		s.text("title", m.T.UTC().Format("15:04:05")+" "+m.Label)
		s.close("rect")
	}
	s.close("g")
	s.text("text", "time (UTC)", "x", num(right), "y", num(top-10), "text-anchor", "end", "class", "unit")
	return s.String()
}
