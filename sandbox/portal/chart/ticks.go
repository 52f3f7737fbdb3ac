package chart

import (
	"math"
	"strconv"
	"time"
)

// niceStep is a step of 1, 2 or 5 times a power of ten that cuts span
// into about n parts.
func niceStep(span float64, n int) float64 {
	if !(span > 0) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(max(n, 1))
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	// The round step nearest the raw one (on a log scale).
	switch f := raw / pow; {
	case f < 1.5:
		return pow
	case f < 3.5:
		return 2 * pow
	case f < 7.5:
		return 5 * pow
	}
	return 10 * pow
}

// valueTicks are the round values from lo to hi, a step apart, ascending.
func valueTicks(lo, hi float64, n int) []float64 {
	step := niceStep(hi-lo, n)
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9 && len(out) < 50; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

// formatValue writes v with as many decimals as step needs.
func formatValue(v, step float64) string {
	dec := 0
	if step > 0 && step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// timeStep is one choice of date tick: its length and label layout.
type timeStep struct {
	d      time.Duration
	months int // when not 0, the step is whole calendar months
	layout string
}

var timeSteps = []timeStep{
	{d: time.Minute, layout: "15:04"},
	{d: 5 * time.Minute, layout: "15:04"},
	{d: 15 * time.Minute, layout: "15:04"},
	{d: time.Hour, layout: "15:04"},
	{d: 6 * time.Hour, layout: "02 Jan 15:04"},
	{d: 24 * time.Hour, layout: "02 Jan"},
	{d: 7 * 24 * time.Hour, layout: "02 Jan"},
	{months: 1, layout: "Jan 2006"},
	{months: 3, layout: "Jan 2006"},
	{months: 6, layout: "Jan 2006"},
	{months: 12, layout: "2006"},
	{months: 24, layout: "2006"},
	{months: 60, layout: "2006"},
	{months: 120, layout: "2006"},
}

// dateTicks are at most about n round moments from lo to hi, ascending,
// in UTC, with their labels.
func dateTicks(lo, hi time.Time, n int) ([]time.Time, string) {
	span := hi.Sub(lo)
	st := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		d := s.d
		if s.months > 0 {
			d = time.Duration(s.months) * 30 * 24 * time.Hour
		}
		if span/d <= time.Duration(n) {
			st = s
			break
		}
	}
	lo, hi = lo.UTC(), hi.UTC()
	var t time.Time
	if st.months > 0 {
		t = time.Date(lo.Year(), lo.Month(), 1, 0, 0, 0, 0, time.UTC)
		// Align to the step, counted from January of year 0.
		m := (int(t.Month()) - 1 + 12*t.Year()) % st.months
		t = t.AddDate(0, -m, 0)
	} else {
		t = lo.Truncate(st.d)
	}
	var out []time.Time
	for ; !t.After(hi) && len(out) < 60; t = next(t, st) {
		if !t.Before(lo) {
			out = append(out, t)
		}
	}
	return out, st.layout
}

func next(t time.Time, st timeStep) time.Time {
	if st.months > 0 {
		return t.AddDate(0, st.months, 0)
	}
	return t.Add(st.d)
}
