package chart

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Point is one value at one time.
type Point struct {
	T time.Time
	V float64
}

// Series is one line of a plot: a name for the legend and its points, in
// any order.
type Series struct {
	Name   string
	Points []Point
}

// Range is a reference range: the band of normal values. A bound that is
// NaN is open (only "below 5", say).
type Range struct {
	Low, High float64
	// Label says where the range comes from ("reference range", "usual
	// adult range").
	Label string
}

// Plot is a trend plot of one measure over time.
type Plot struct {
	// Title names the measure ("Heart rate").
	Title string
	// Unit is the values' unit, shown on the value axis ("mmHg").
	Unit string
	// Series are drawn in order, each in its own colour (up to four
	// colours, then repeated).
	Series []Series
	// Range, when not nil, is drawn as a band behind the lines.
	Range *Range
	// Width and Height are the picture's size in pixels; 0 is 560 × 220.
	Width, Height int
}

// Plot layout: margins around the plot area, in pixels.
const (
	marginLeft   = 56
	marginRight  = 16
	marginTop    = 28
	marginBottom = 36
)

// seriesColours are colours that stay apart for the common kinds of
// colour blindness (Okabe and Ito's palette).
var seriesColours = []string{"#0072b2", "#d55e00", "#009e73", "#cc79a7"}

// area is the plot area inside the margins, and the data range it maps.
type area struct {
	x0, y0, x1, y1 float64 // pixels: left, top, right, bottom
	t0, t1         time.Time
	v0, v1         float64
}

func (a area) x(t time.Time) float64 {
	span := a.t1.Sub(a.t0)
	if span <= 0 {
		return (a.x0 + a.x1) / 2
	}
	f := float64(t.Sub(a.t0)) / float64(span)
	return a.x0 + clamp01(f)*(a.x1-a.x0)
}

func (a area) y(v float64) float64 {
	if !(a.v1 > a.v0) {
		return (a.y0 + a.y1) / 2
	}
	f := (v - a.v0) / (a.v1 - a.v0)
	return a.y1 - clamp01(f)*(a.y1-a.y0)
}

func clamp01(f float64) float64 {
	if math.IsNaN(f) {
		return 0.5
	}
	return math.Max(0, math.Min(1, f))
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// cleaned returns the series with their unplottable points left out and
// the rest in time order.
func cleaned(in []Series) []Series {
	out := make([]Series, 0, len(in))
	for _, s := range in {
		pts := make([]Point, 0, len(s.Points))
		for _, p := range s.Points {
			if finite(p.V) && !p.T.IsZero() {
				pts = append(pts, p)
			}
		}
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].T.Before(pts[j].T) })
		out = append(out, Series{Name: s.Name, Points: pts})
	}
	return out
}

// bounds finds the time and value range of the points and the band, with
// room around values that are all the same or times that are all one.
func bounds(series []Series, r *Range) (t0, t1 time.Time, v0, v1 float64, n int) {
	v0, v1 = math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s.Points {
			if n == 0 || p.T.Before(t0) {
				t0 = p.T
			}
			if n == 0 || p.T.After(t1) {
				t1 = p.T
			}
			v0, v1 = math.Min(v0, p.V), math.Max(v1, p.V)
			n++
		}
	}
	if n == 0 {
		return t0, t1, 0, 1, 0
	}
	if r != nil {
		// The band widens the value range, but by at most the data's own
		// span again, so that a wide range does not flatten the line.
		room := math.Max(v1-v0, math.Abs(v1)*0.2)
		if finite(r.Low) {
			v0 = math.Min(v0, math.Max(r.Low, v0-room))
		}
		if finite(r.High) {
			v1 = math.Max(v1, math.Min(r.High, v1+room))
		}
	}
	if t1.Sub(t0) <= 0 {
		t0, t1 = t0.Add(-12*time.Hour), t1.Add(12*time.Hour)
	} else {
		pad := t1.Sub(t0) / 20
		t0, t1 = t0.Add(-pad), t1.Add(pad)
	}
	if !(v1 > v0) {
		d := math.Max(math.Abs(v0)*0.1, 1)
		v0, v1 = v0-d, v1+d
	} else {
		pad := (v1 - v0) * 0.08
		v0, v1 = v0-pad, v1+pad
	}
	if !finite(v1 - v0) {
		// Values near the float64 limit: plot them, squeezed, rather
		// than divide by infinity.
		v0, v1 = -math.MaxFloat64/4, math.MaxFloat64/4
	}
	return t0, t1, v0, v1, n
}

// SVG draws the plot.
func (p Plot) SVG() string {
	w, h := p.Width, p.Height
	if w <= 0 || h <= 0 {
		w, h = 560, 220
	}
	series := cleaned(p.Series)
	t0, t1, v0, v1, n := bounds(series, p.Range)
	title := p.Title
	if p.Unit != "" {
		title += " (" + p.Unit + ")"
	}
	var s svgWriter
	s.start(w, h, "chart plot", title, p.describe(series, n))
	if n == 0 {
		s.text("text", "No values to plot.", "x", num(float64(w)/2), "y", num(float64(h)/2), "text-anchor", "middle", "class", "empty")
		return s.String()
	}
	a := area{x0: marginLeft, y0: marginTop, x1: float64(w - marginRight), y1: float64(h - marginBottom), t0: t0, t1: t1, v0: v0, v1: v1}

	if r := p.Range; r != nil && (finite(r.Low) || finite(r.High)) {
		lo, hi := a.v0, a.v1
		if finite(r.Low) {
			lo = math.Max(r.Low, a.v0)
		}
		if finite(r.High) {
			hi = math.Min(r.High, a.v1)
		}
		if hi > lo {
			s.open("g", "class", "range")
			s.open("rect", "x", num(a.x0), "y", num(a.y(hi)), "width", num(a.x1-a.x0), "height", num(a.y(lo)-a.y(hi)),
				"fill", "#e3f2e1")
			s.text("title", rangeText(r))
			s.close("rect")
			s.close("g")
		}
	}

	// Value axis: grid lines and labels.
	s.open("g", "class", "axis y")
	ticks := valueTicks(v0, v1, 5)
	step := niceStep(v1-v0, 5)
	for _, v := range ticks {
		y := a.y(v)
		s.empty("line", "x1", num(a.x0), "x2", num(a.x1), "y1", num(y), "y2", num(y), "stroke", "#dddddd")
		s.text("text", formatValue(v, step), "x", num(a.x0-6), "y", num(y+4), "text-anchor", "end")
	}
	if p.Unit != "" {
		s.text("text", p.Unit, "x", "4", "y", "17", "class", "unit")
	}
	s.close("g")

	// Time axis.
	s.open("g", "class", "axis x")
	s.empty("line", "x1", num(a.x0), "x2", num(a.x1), "y1", num(a.y1), "y2", num(a.y1), "stroke", "#888888")
	dts, layout := dateTicks(t0, t1, max(2, (w-marginLeft-marginRight)/90))
	for _, t := range dts {
		x := a.x(t)
		s.empty("line", "x1", num(x), "x2", num(x), "y1", num(a.y1), "y2", num(a.y1+4), "stroke", "#888888")
		s.text("text", t.Format(layout), "x", num(x), "y", num(a.y1+18), "text-anchor", "middle")
	}
	s.close("g")

	for i, se := range series {
		if len(se.Points) == 0 {
			continue
		}
		colour := seriesColours[i%len(seriesColours)]
		name := se.Name
		if name == "" {
			name = p.Title
		}
		s.open("g", "class", "series", "fill", colour, "stroke", colour)
		if len(se.Points) > 1 {
			var d strings.Builder
			for j, pt := range se.Points {
				if j > 0 {
					d.WriteByte(' ')
				}
				d.WriteString(num(a.x(pt.T)) + "," + num(a.y(pt.V)))
			}
			s.empty("polyline", "points", d.String(), "fill", "none", "stroke-width", "2")
		}
		for _, pt := range se.Points {
			s.open("circle", "cx", num(a.x(pt.T)), "cy", num(a.y(pt.V)), "r", "3.5")
			s.text("title", fmt.Sprintf("%s %s: %s", name, pt.T.UTC().Format("2006-01-02 15:04"), valueText(pt.V, p.Unit)))
			s.close("circle")
		}
		s.close("g")
	}

	// Legend: the series' names, and the band's.
	s.open("g", "class", "legend")
	// After the unit, which stands at the top left.
	x := math.Max(a.x0, 4+7*float64(len([]rune(p.Unit)))+16)
	if len(series) > 1 || (len(series) == 1 && series[0].Name != "") {
		for i, se := range series {
			colour := seriesColours[i%len(seriesColours)]
			s.empty("rect", "x", num(x), "y", "8", "width", "10", "height", "10", "fill", colour)
			s.text("text", se.Name, "x", num(x+14), "y", "17")
			x += 24 + 7*float64(len([]rune(se.Name)))
		}
	}
	if p.Range != nil && (finite(p.Range.Low) || finite(p.Range.High)) {
		s.empty("rect", "x", num(x), "y", "8", "width", "10", "height", "10", "fill", "#e3f2e1", "stroke", "#9ccc95")
		s.text("text", rangeText(p.Range), "x", num(x+14), "y", "17")
	}
	s.close("g")
	return s.String()
}

// describe says in words what the plot shows, for its <desc>.
func (p Plot) describe(series []Series, n int) string {
	if n == 0 {
		return "No values."
	}
	var parts []string
	for _, se := range series {
		if len(se.Points) == 0 {
			continue
		}
		first, last := se.Points[0], se.Points[len(se.Points)-1]
		name := se.Name
		if name == "" {
			name = p.Title
		}
		parts = append(parts, fmt.Sprintf("%s: %d values from %s (%s) to %s (%s)", name, len(se.Points),
			valueText(first.V, p.Unit), first.T.UTC().Format("2006-01-02"), valueText(last.V, p.Unit), last.T.UTC().Format("2006-01-02")))
	}
	if p.Range != nil && (finite(p.Range.Low) || finite(p.Range.High)) {
		parts = append(parts, rangeText(p.Range))
	}
	return strings.Join(parts, "; ") + "."
}

func valueText(v float64, unit string) string {
	s := fmt.Sprintf("%g", v)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// rangeText is the band's legend: "reference range 60–100".
func rangeText(r *Range) string {
	label := r.Label
	if label == "" {
		label = "reference range"
	}
	switch {
	case finite(r.Low) && finite(r.High):
		return fmt.Sprintf("%s %g–%g", label, r.Low, r.High)
	case finite(r.Low):
		return fmt.Sprintf("%s ≥ %g", label, r.Low)
	case finite(r.High):
		return fmt.Sprintf("%s ≤ %g", label, r.High)
	}
	return label
}
