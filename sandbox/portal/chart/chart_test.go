package chart

import (
	"encoding/xml"
	"flag"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var day0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func days(vs ...float64) []Point {
	out := make([]Point, len(vs))
	for i, v := range vs {
		out[i] = Point{T: day0.AddDate(0, 0, 7*i), V: v}
	}
	return out
}

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff\ngot:\n%s", name, got)
	}
}

// wellFormed parses svg as XML and returns its elements' start tags.
func wellFormed(t testing.TB, svg string) []xml.StartElement {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	var out []xml.StartElement
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			out = append(out, e.Copy())
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 || len(out) == 0 || out[0].Name.Local != "svg" {
		t.Fatalf("not one svg element: %s", svg)
	}
	return out
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func fattr(t testing.TB, e xml.StartElement, name string) float64 {
	f, err := strconv.ParseFloat(attr(e, name), 64)
	if err != nil {
		t.Fatalf("%s %s=%q: %v", e.Name.Local, name, attr(e, name), err)
	}
	return f
}

func TestPlot_Golden(t *testing.T) {
	cases := map[string]Plot{
		"heart_rate.svg": {Title: "Heart rate", Unit: "/min", Series: []Series{{Name: "", Points: days(72, 80, 95, 110, 88)}},
			Range: &Range{Low: 60, High: 100, Label: "usual adult range"}},
		"blood_pressure.svg": {Title: "Blood pressure", Unit: "mmHg", Series: []Series{
			{Name: "systolic", Points: days(142, 138, 151, 129)}, {Name: "diastolic", Points: days(91, 88, 95, 82)}}},
		"one_point.svg":  {Title: "HbA1c", Unit: "%", Series: []Series{{Points: days(7.2)}}},
		"empty.svg":      {Title: "Weight", Unit: "kg"},
		"escaped.svg":    {Title: `<script>alert("x")</script> & co`, Unit: "µmol/L", Series: []Series{{Name: "a<b", Points: days(1, 2)}}},
		"open_range.svg": {Title: "CRP", Unit: "mg/L", Series: []Series{{Points: days(3, 12, 40, 8)}}, Range: &Range{Low: math.NaN(), High: 5}},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			svg := p.SVG()
			wellFormed(t, svg)
			golden(t, "plot_"+name, svg)
		})
	}
}

func TestTimeline_Golden(t *testing.T) {
	tl := Timeline{Title: "Calls of app-1", Classes: StatusClasses, Marks: []Mark{
		{T: day0, Class: "2", Label: "GET /Patient 200"},
		{T: day0.Add(3 * time.Minute), Class: "4", Label: "GET /Patient/x 404"},
		{T: day0.Add(4 * time.Minute), Class: "2", Label: "POST /Observation 201"},
		{T: day0.Add(9 * time.Minute), Class: "5", Label: "GET /Encounter 500"},
		{T: day0.Add(10 * time.Minute), Class: "9", Label: "not a class: left out"},
	}}
	svg := tl.SVG()
	wellFormed(t, svg)
	if !strings.Contains(svg, "4 calls from") {
		t.Errorf("description does not count the four known calls: %s", svg)
	}
	golden(t, "timeline.svg", svg)
	golden(t, "timeline_empty.svg", Timeline{Title: "Calls", Classes: StatusClasses}.SVG())
}

func TestBars_Golden(t *testing.T) {
	b := Bars{Title: "Results per profile", Classes: ResultClasses, Bars: []Bar{
		{Label: "SMART App Launch", Segments: []Segment{{"pass", 12}, {"fail", 2}, {"warning", 1}, {"skip", 3}}},
		{Label: "VKP R4", Segments: []Segment{{"pass", 4}, {"skip", 9}}},
	}}
	svg := b.SVG()
	wellFormed(t, svg)
	golden(t, "bars.svg", svg)
	golden(t, "bars_empty.svg", Bars{Title: "Results", Classes: ResultClasses}.SVG())
}

// plotArea is the plot area of a picture of size w × h.
func plotArea(w, h int) (x0, y0, x1, y1 float64) {
	return marginLeft, marginTop, float64(w - marginRight), float64(h - marginBottom)
}

func TestPlot_EveryPointInsidePlotArea(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		n := 1 + r.IntN(40)
		var pts []Point
		scale := math.Pow(10, float64(r.IntN(12)-4))
		for range n {
			v := r.NormFloat64() * scale
			switch r.IntN(20) {
			case 0:
				v = math.NaN()
			case 1:
				v = math.Inf(1)
			case 2:
				v = 42 // identical values
			}
			pts = append(pts, Point{T: day0.Add(time.Duration(r.Int64N(int64(5 * 365 * 24 * time.Hour)))), V: v})
		}
		p := Plot{Title: "p", Unit: "u", Series: []Series{{Name: "s", Points: pts}}, Width: 200 + r.IntN(600), Height: 120 + r.IntN(300)}
		if r.IntN(2) == 0 {
			p.Range = &Range{Low: r.NormFloat64() * scale, High: r.NormFloat64()*scale + scale}
		}
		x0, y0, x1, y1 := plotArea(p.Width, p.Height)
		for _, e := range wellFormed(t, p.SVG()) {
			if e.Name.Local != "circle" {
				continue
			}
			cx, cy := fattr(t, e, "cx"), fattr(t, e, "cy")
			if cx < x0 || cx > x1 || cy < y0 || cy > y1 {
				t.Fatalf("case %d: point (%v, %v) outside the plot area [%v, %v] × [%v, %v]", i, cx, cy, x0, x1, y0, y1)
			}
		}
	}
}

func TestPlot_DegenerateInputs(t *testing.T) {
	cases := map[string][]Point{
		"none":          nil,
		"all NaN":       {{day0, math.NaN()}, {day0.Add(time.Hour), math.NaN()}},
		"one point":     days(5),
		"identical":     days(5, 5, 5, 5),
		"same time":     {{day0, 1}, {day0, 2}, {day0, 3}},
		"zero time":     {{time.Time{}, 1}, {day0, 2}},
		"huge":          {{day0, math.MaxFloat64}, {day0.Add(time.Hour), -math.MaxFloat64}},
		"tiny":          {{day0, 1e-300}, {day0.Add(time.Hour), 2e-300}},
		"decades":       {{day0.AddDate(-80, 0, 0), 1}, {day0, 2}},
		"seconds apart": {{day0, 1}, {day0.Add(time.Second), 2}},
	}
	for name, pts := range cases {
		t.Run(name, func(t *testing.T) {
			svg := Plot{Title: "t", Unit: "u", Series: []Series{{Points: pts}}, Range: &Range{Low: 0, High: math.Inf(1)}}.SVG()
			if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
				t.Errorf("output carries a non-finite number: %s", svg)
			}
			x0, y0, x1, y1 := plotArea(560, 220)
			for _, e := range wellFormed(t, svg) {
				if e.Name.Local == "circle" {
					if cx, cy := fattr(t, e, "cx"), fattr(t, e, "cy"); cx < x0 || cx > x1 || cy < y0 || cy > y1 {
						t.Errorf("point (%v, %v) outside the plot area", cx, cy)
					}
				}
			}
		})
	}
}

func TestTicks_Ordered(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		lo := r.NormFloat64() * math.Pow(10, float64(r.IntN(10)-3))
		hi := lo + r.Float64()*math.Pow(10, float64(r.IntN(10)-3))
		vt := valueTicks(lo, hi, 5)
		for i := 1; i < len(vt); i++ {
			if !(vt[i] > vt[i-1]) {
				t.Fatalf("value ticks of [%v, %v] not ascending: %v", lo, hi, vt)
			}
		}
		for _, v := range vt {
			if v < lo-1e-9*math.Abs(hi-lo) || v > hi+1e-9*math.Abs(hi-lo)+1e-12 {
				t.Fatalf("value tick %v outside [%v, %v]", v, lo, hi)
			}
		}
		t0 := day0.Add(time.Duration(r.Int64N(int64(1e17))) - 5e16)
		t1 := t0.Add(time.Duration(r.Int64N(int64(40 * 365 * 24 * time.Hour))))
		dt, _ := dateTicks(t0, t1, 6)
		for i := range dt {
			if dt[i].Before(t0) || dt[i].After(t1) || (i > 0 && !dt[i].After(dt[i-1])) {
				t.Fatalf("date ticks of [%v, %v] out of order or range: %v", t0, t1, dt)
			}
		}
		if len(dt) > 20 {
			t.Fatalf("%d date ticks for [%v, %v]", len(dt), t0, t1)
		}
	}
}

func FuzzPlot(f *testing.F) {
	f.Add("Heart rate", "/min", "systolic", 72.0, 80.0, 60.0, 100.0, int64(3600))
	f.Add("<&>\"'", "\x00\xff", "]]>", math.NaN(), math.Inf(-1), 1e308, -1e308, int64(0))
	f.Fuzz(func(t *testing.T, title, unit, name string, a, b, lo, hi float64, gap int64) {
		pts := []Point{{day0, a}, {day0.Add(time.Duration(gap)), b}}
		svg := Plot{Title: title, Unit: unit, Series: []Series{{Name: name, Points: pts}}, Range: &Range{Low: lo, High: hi, Label: name}}.SVG()
		wellFormed(t, svg)
		tl := Timeline{Title: title, Classes: []Class{{Key: name, Name: unit, Colour: title}}, Marks: []Mark{{T: day0, Class: name, Label: title}}}
		wellFormed(t, tl.SVG())
		bars := Bars{Title: title, Classes: []Class{{Key: "k", Name: name, Colour: unit}}, Bars: []Bar{{Label: title, Segments: []Segment{{"k", int(gap % 1000)}}}}}
		wellFormed(t, bars.SVG())
	})
}

// BenchmarkPlot_YearOfDailyValues: a plot of a year's daily weights with
// a band, as the chart page draws one per measure.
func BenchmarkPlot_YearOfDailyValues(b *testing.B) {
	pts := make([]Point, 365)
	for i := range pts {
		pts[i] = Point{T: day0.AddDate(0, 0, i), V: 80 + math.Sin(float64(i)/20)*3}
	}
	p := Plot{Title: "Weight", Unit: "kg", Series: []Series{{Points: pts}}, Range: &Range{Low: 70, High: 90}}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.SVG()
	}
}
