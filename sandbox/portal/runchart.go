package portal

import (
	"html/template"
	"strings"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/portal/chart"
)

// resultClass is an outcome as the run page shows it: pass, fail (an
// error-severity failure, which fails the run), warning (any other
// failure) or skip.
func resultClass(o conformance.Outcome) string {
	switch o.Result.Status {
	case conformance.Pass:
		return "pass"
	case conformance.Fail:
		if o.Check.Severity == conformance.SeverityError {
			return "fail"
		}
		return "warning"
	}
	return "skip"
}

// tally counts outcomes into one stacked bar.
type tally struct {
	label string
	n     map[string]int
}

func (t *tally) add(o conformance.Outcome) {
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[resultClass(o)]++
}

func (t *tally) bar() chart.Bar {
	b := chart.Bar{Label: t.label}
	for _, c := range chart.ResultClasses {
		b.Segments = append(b.Segments, chart.Segment{Class: c.Key, N: t.n[c.Key]})
	}
	return b
}

// family is a check's family, the part of its id before the first dot
// ("smart" of "smart.pkce-s256").
func family(id string) string {
	if i := strings.IndexByte(id, '.'); i > 0 {
		return id[:i]
	}
	return id
}

// runChart draws a run's results: one bar for its profile as a whole,
// then one per family of checks.
func runChart(run *conformance.Run) template.HTML {
	whole := &tally{label: run.Profile.Title}
	var families []*tally
	byFamily := map[string]*tally{}
	for _, o := range run.Outcomes {
		whole.add(o)
		f := family(o.Check.ID)
		t := byFamily[f]
		if t == nil {
			t = &tally{label: f + ".*"}
			byFamily[f] = t
			families = append(families, t)
		}
		t.add(o)
	}
	bars := []chart.Bar{whole.bar()}
	if len(families) > 1 {
		for _, t := range families {
			bars = append(bars, t.bar())
		}
	}
	svg := chart.Bars{Title: "Results of " + run.Profile.Title + ", in all and per family of checks", Classes: chart.ResultClasses,
		Bars: bars, Width: 760}.SVG()
	// The chart package escapes every text it writes.
	return template.HTML(svg) //nolint:gosec // see above
}

// runsChart draws, per profile and app, the results of the newest of the
// runs (which come newest first).
func runsChart(runs []*conformance.Run) template.HTML {
	seen := map[string]bool{}
	var bars []chart.Bar
	for _, run := range runs {
		key := run.Profile.ID + "\x00" + run.ClientID
		if seen[key] || len(bars) == 12 {
			continue
		}
		seen[key] = true
		t := &tally{label: run.Profile.Title + " · " + run.ClientID}
		for _, o := range run.Outcomes {
			t.add(o)
		}
		bars = append(bars, t.bar())
	}
	if len(bars) == 0 {
		return ""
	}
	svg := chart.Bars{Title: "Newest run per profile and app", Classes: chart.ResultClasses, Bars: bars, Width: 760}.SVG()
	return template.HTML(svg) //nolint:gosec // the chart package escapes every text it writes
}
