package devicesim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// spec is one metric a device reports and how it behaves.
type spec struct {
	label       string
	mdc, refid  string
	unit        string // MDC unit code
	path        string // OBX-4 containment, MDS.VMD.CHAN.METRIC
	mean        float64
	spread      float64 // patients' baselines lie within mean ± spread
	noise       float64 // per-reading noise (standard deviation)
	revert      float64 // how fast a drift returns to the baseline, per second
	trend       float64 // amplitude of the slow (daily) swing
	lo, hi      float64 // reference range; outside it the reading is flagged
	min, max    float64 // what the sensor can show
	decimals    int
	alarms      bool // leaving the range raises an alarm (PCD-04)
	artefactAdd float64
}

// MDC codes (IEEE 11073-10101) of the metrics and units, as the mtu
// connector's metrics.tsv and units.tsv list them.
var (
	spo2 = spec{label: "SpO2", mdc: "150456", refid: "MDC_PULS_OXIM_SAT_O2", unit: "262688^MDC_DIM_PERCENT", path: "1.1.1.1",
		mean: 97, spread: 1.5, noise: 0.6, revert: 0.05, trend: 0.5, lo: 90, hi: 100, min: 50, max: 100, alarms: true, artefactAdd: -18}
	pulse = spec{label: "Pulse rate", mdc: "149530", refid: "MDC_PULS_OXIM_PULS_RATE", unit: "264864^MDC_DIM_BEAT_PER_MIN", path: "1.1.1.2",
		mean: 74, spread: 10, noise: 2, revert: 0.05, trend: 6, lo: 50, hi: 120, min: 20, max: 250, alarms: true}
	heartRate = spec{label: "Heart rate", mdc: "147842", refid: "MDC_ECG_HEART_RATE", unit: "264864^MDC_DIM_BEAT_PER_MIN", path: "1.2.1.1",
		mean: 74, spread: 10, noise: 2, revert: 0.05, trend: 6, lo: 50, hi: 120, min: 20, max: 250, alarms: true, artefactAdd: 55}
	respRate = spec{label: "Respiratory rate", mdc: "151562", refid: "MDC_RESP_RATE", unit: "264928^MDC_DIM_RESP_PER_MIN", path: "1.3.1.1",
		mean: 15, spread: 3, noise: 1, revert: 0.05, trend: 2, lo: 8, hi: 25, min: 0, max: 80, alarms: true}
	sys = spec{label: "Systolic blood pressure", mdc: "150021", refid: "MDC_PRESS_BLD_NONINV_SYS", unit: "266016^MDC_DIM_MMHG", path: "1.4.1.1.1",
		mean: 124, spread: 14, noise: 5, revert: 0.01, trend: 8, lo: 90, hi: 160, min: 40, max: 280, alarms: true, artefactAdd: 35}
	dia = spec{label: "Diastolic blood pressure", mdc: "150022", refid: "MDC_PRESS_BLD_NONINV_DIA", unit: "266016^MDC_DIM_MMHG", path: "1.4.1.1.2",
		mean: 79, spread: 8, noise: 4, revert: 0.01, trend: 5, lo: 50, hi: 100, min: 20, max: 200}
	temp = spec{label: "Body temperature", mdc: "150364", refid: "MDC_TEMP_BODY", unit: "268192^MDC_DIM_DEGC", path: "1.5.1.1",
		mean: 36.9, spread: 0.3, noise: 0.05, revert: 0.01, trend: 0.3, lo: 36, hi: 38, min: 30, max: 43, decimals: 1}
	weight = spec{label: "Body weight", mdc: "188736", refid: "MDC_MASS_BODY_ACTUAL", unit: "263875^MDC_DIM_KILO_G", path: "1.1.1.1",
		mean: 78, spread: 18, noise: 0.3, revert: 0.001, trend: 0.6, lo: 30, hi: 200, min: 2, max: 300, decimals: 1, artefactAdd: 9}
	glucose = spec{label: "Glucose", mdc: "160184", refid: "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD", unit: "264274^MDC_DIM_MILLI_G_PER_DL", path: "1.1.1.1",
		mean: 112, spread: 15, noise: 12, revert: 0.02, trend: 25, lo: 70, hi: 180, min: 20, max: 600, alarms: true, artefactAdd: 70}
)

// kinds are the metrics of each kind of device.
var kinds = map[Kind][]spec{
	PulseOximeter: {spo2, pulse},
	BP:            {sys, dia},
	Scale:         {weight},
	Glucose:       {glucose},
	Monitor:       {spo2, heartRate, respRate, sys, dia, temp},
}

// mdsOf is the OBX-3 of each kind's MDS row.
var mdsOf = map[Kind]string{
	PulseOximeter: "70091^MDC_DEV_PULS_OXIM_VMD^MDC",
	BP:            "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC",
	Scale:         "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC",
	Glucose:       "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC",
	Monitor:       "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC",
}

// signal is one metric's state: it drifts around the patient's baseline
// (an Ornstein-Uhlenbeck walk) that swings slowly over the day.
type signal struct {
	spec  spec
	base  float64
	value float64
	phase float64
}

// reading is one reported value.
type reading struct {
	value    float64
	text     string
	flag     string // OBX-8: L, H or ""
	artefact bool
}

const day = 24 * time.Hour

func (s *signal) step(rng *rand.Rand, t time.Time, dt float64, artefact bool) reading {
	sp := s.spec
	target := s.base + sp.trend*math.Sin(2*math.Pi*float64(t.UnixNano()%int64(day))/float64(day)+s.phase)
	dt = math.Min(math.Max(dt, 0.01), 86400)
	k := math.Min(sp.revert*dt, 1)
	s.value += k*(target-s.value) + sp.noise*math.Sqrt(math.Min(dt, 60))*0.3*rng.NormFloat64()
	v := s.value + sp.noise*rng.NormFloat64()
	r := reading{}
	if artefact && sp.artefactAdd != 0 {
		v += sp.artefactAdd * (0.7 + 0.6*rng.Float64())
		r.artefact = true
	}
	v = math.Min(math.Max(v, sp.min), sp.max)
	scale := math.Pow10(sp.decimals)
	v = math.Round(v*scale) / scale
	r.value, r.text = v, strconv.FormatFloat(v, 'f', sp.decimals, 64)
	switch {
	case v < sp.lo:
		r.flag = "L"
	case v > sp.hi:
		r.flag = "H"
	}
	return r
}
