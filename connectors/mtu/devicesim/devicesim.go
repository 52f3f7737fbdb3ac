// Package devicesim simulates point-of-care and personal health devices
// for the mtu connector: seeded physiological streams (plausible ranges,
// slow trends, noise, occasional artefacts and the alarms they raise)
// written as IHE PCD-01 messages (ORU^R01, HL7 v2.6) and, for alarms,
// PCD-04 (ORU^R40), or, for the personal health devices, as the uploads of
// a Personal Health Gateway by the HL7 PHD implementation guide (NextPHD:
// one FHIR transaction Bundle a reading).
//
// A Device makes the messages of one reading at a time (Next, NextPHD);
// sending them (over MLLP, reading the ACKs; or through the FHIR API) is
// the caller's (cmd/sandbox's `sandbox devices simulate`). The same seed gives the same readings.
// It is not a clinical model: the numbers are shaped to look like a
// patient's, not to predict one.
package devicesim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"hpsandbox/connectors/hl7v2"
)

// Kind is a kind of device.
type Kind string

// The kinds simulated.
const (
	PulseOximeter Kind = "pulse-oximeter"
	BP            Kind = "bp"
	Scale         Kind = "scale"
	Glucose       Kind = "glucose"
	Monitor       Kind = "monitor"
)

// Kinds are every Kind, for flags and messages.
var Kinds = []Kind{PulseOximeter, BP, Scale, Glucose, Monitor}

// Patient is the identifier PID-3 names: System a FHIR identifier system
// (urn:oid:… is written as the ISO assigning authority), Value the id.
type Patient struct {
	System, Value string
}

// ParsePatient reads "system|value" or a bare value, which is taken as a
// Norwegian national identity number (urn:oid:2.16.578.1.12.4.1.4.1).
func ParsePatient(s string) (Patient, error) {
	sys, val, ok := strings.Cut(s, "|")
	if !ok {
		sys, val = "urn:oid:2.16.578.1.12.4.1.4.1", s
	}
	if val == "" || strings.ContainsAny(s, "\r\n") {
		return Patient{}, fmt.Errorf("patient %q: give an identifier, system|value or a national identity number", s)
	}
	return Patient{System: sys, Value: val}, nil
}

// Config configures a Device.
type Config struct {
	Kind    Kind
	Patient Patient
	// Seed makes the device's identity and readings; the same seed gives
	// the same ones.
	Seed uint64
	// Sandbox is written as the receiving facility (MSH-6).
	Sandbox string
	// ArtefactRate is the chance of a reading being an artefact (motion,
	// a loose probe): 0.02 when zero, none when negative.
	ArtefactRate float64
}

// Device is one simulated device. It is not safe for concurrent use.
type Device struct {
	cfg     Config
	rng     *rand.Rand
	eui     string
	signals []*signal
	last    time.Time
	seq     int
	idBase  string
	alarms  map[string]*alarmState
}

type alarmState struct {
	id    string
	start time.Time
}

// New returns a Device of cfg.
func New(cfg Config) (*Device, error) {
	specs, ok := kinds[cfg.Kind]
	if !ok {
		return nil, fmt.Errorf("device %q: want one of %s", cfg.Kind, joinKinds())
	}
	if cfg.Patient.Value == "" {
		return nil, fmt.Errorf("no patient: give the patient's identifier")
	}
	if cfg.ArtefactRate == 0 {
		cfg.ArtefactRate = 0.02
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	d := &Device{cfg: cfg, rng: rng, alarms: map[string]*alarmState{}}
	d.eui = fmt.Sprintf("%016X", rng.Uint64())
	for _, sp := range specs {
		s := &signal{spec: sp}
		// Each patient has a baseline of their own within the spec's.
		s.base = sp.mean + sp.spread*(rng.Float64()*2-1)
		s.value = s.base
		s.phase = rng.Float64() * 2 * math.Pi
		d.signals = append(d.signals, s)
	}
	d.idBase = strings.ToUpper(strconv.FormatUint(cfg.Seed, 36))
	return d, nil
}

func joinKinds() string {
	var s []string
	for _, k := range Kinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// EUI64 is the device's EUI-64, as OBX-18 names it.
func (d *Device) EUI64() string { return d.eui }

// Next returns the messages of one reading at t: a PCD-01 with every
// metric of the device and, for each alarm that starts or ends at this
// reading, a PCD-04. ids makes the message control ids unique across runs
// (e.g. the start time); the messages are in ER7 without framing.
func (d *Device) Next(t time.Time, ids string) [][]byte {
	readings := d.read(t)
	out := [][]byte{d.pcd01(t, ids, readings)}
	for i, r := range readings {
		s := d.signals[i]
		a := d.alarms[s.spec.refid]
		switch {
		case r.flag != "" && a == nil && s.spec.alarms:
			d.seq++
			a = &alarmState{id: fmt.Sprintf("%s-ALR-%d", d.idBase, d.seq), start: t}
			d.alarms[s.spec.refid] = a
			out = append(out, d.pcd04(t, ids, s, r, a, "start", "active"))
		case r.flag == "" && a != nil:
			delete(d.alarms, s.spec.refid)
			out = append(out, d.pcd04(t, ids, s, r, a, "end", "inactive"))
		}
	}
	return out
}

// read steps every signal to t: one reading of each metric.
func (d *Device) read(t time.Time) []reading {
	dt := 1.0
	if !d.last.IsZero() {
		dt = t.Sub(d.last).Seconds()
	}
	d.last = t
	artefact := d.cfg.ArtefactRate > 0 && d.rng.Float64() < d.cfg.ArtefactRate
	readings := make([]reading, len(d.signals))
	for i, s := range d.signals {
		readings[i] = s.step(d.rng, t, dt, artefact && i == 0)
	}
	return readings
}

var esc = hl7v2.DefaultDelimiters.Escape

func (d *Device) msh(t time.Time, ids, trigger string) hl7v2.Segment {
	d.seq++
	return hl7v2.DefaultDelimiters.NewSegment("MSH", "HPSDeviceSim^"+d.eui+"^EUI-64", "", "HPSANDBOX", esc(d.cfg.Sandbox),
		hl7v2.FormatTS(t), "", "ORU^"+trigger+"^ORU_"+trigger, fmt.Sprintf("%s-%s-%d", d.idBase, ids, d.seq), "P", "2.6",
		"", "", "AL", "NE", "", "UNICODE UTF-8", "", "", "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO")
}

func (d *Device) pid() hl7v2.Segment {
	auth := ""
	if oid, ok := strings.CutPrefix(d.cfg.Patient.System, "urn:oid:"); ok {
		auth = "&" + esc(oid) + "&ISO"
	} else if d.cfg.Patient.System != "" {
		auth = esc(d.cfg.Patient.System)
	}
	typ := ""
	if d.cfg.Patient.System == "urn:oid:2.16.578.1.12.4.1.4.1" {
		typ = "NNNOR"
	}
	return hl7v2.DefaultDelimiters.NewSegment("PID", "", "", esc(d.cfg.Patient.Value)+"^^^"+auth+"^"+typ)
}

func (d *Device) equipment() string { return d.eui + "^^^EUI-64" }

func (d *Device) pcd01(t time.Time, ids string, rs []reading) []byte {
	dl := hl7v2.DefaultDelimiters
	ts := hl7v2.FormatTS(t)
	m := &hl7v2.Message{Delims: dl}
	mds := mdsOf[d.cfg.Kind]
	m.Segments = append(m.Segments, d.msh(t, ids, "R01"), d.pid(),
		dl.NewSegment("OBR", "1", "", "", "182777000^monitoring of patient^SNOMED-CT", "", "", ts),
		dl.NewSegment("OBX", "1", "", mds, "1.0.0.0", "", "", "", "", "", "", "X", "", "", "", "", "", "", d.equipment()))
	n := 1
	for i, r := range rs {
		s := d.signals[i].spec
		n++
		m.Segments = append(m.Segments, dl.NewSegment("OBX", strconv.Itoa(n), "NM", s.mdc+"^"+s.refid+"^MDC", s.path,
			r.text, s.unit+"^MDC", fmt.Sprintf("%g-%g", s.lo, s.hi), r.flag, "", "", "R", "", "", ts, "", "", "", d.equipment()))
		if r.artefact {
			m.Segments = append(m.Segments, dl.NewSegment("NTE", "1", "", "possible artefact (motion or probe off)"))
		}
	}
	return m.Bytes()
}

func (d *Device) pcd04(t time.Time, ids string, s *signal, r reading, a *alarmState, phase, state string) []byte {
	dl := hl7v2.DefaultDelimiters
	ts := hl7v2.FormatTS(t)
	event := "196648^MDC_EVT_HI^MDC"
	text := s.spec.label + " high"
	if r.flag == "L" || (r.flag == "" && r.value < s.spec.lo) {
		event, text = "196652^MDC_EVT_LO^MDC", s.spec.label+" low"
	}
	path := s.spec.path + ".1"
	m := &hl7v2.Message{Delims: dl}
	m.Segments = append(m.Segments, d.msh(t, ids, "R40"), d.pid(),
		dl.NewSegment("OBR", "1", a.id+"^HPSDeviceSim", a.id+"^HPSDeviceSim", "196616^MDC_EVT_ALARM^MDC", "", "", hl7v2.FormatTS(a.start)),
		dl.NewSegment("OBX", "1", "ST", event, path+".1", esc(text), "", "", "", "", "", "F", "", "", ts, "", "", "", d.equipment()),
		dl.NewSegment("OBX", "2", "NM", s.spec.mdc+"^"+s.spec.refid+"^MDC", path+".2", r.text, s.spec.unit+"^MDC",
			fmt.Sprintf("%g-%g", s.spec.lo, s.spec.hi), r.flag, "", "", "F", "", "", ts, "", "", "", d.equipment()),
		dl.NewSegment("OBX", "3", "ST", "68481^MDC_ATTR_EVENT_PHASE^MDC", path+".3", phase, "", "", "", "", "", "F", "", "", ts, "", "", "", d.equipment()),
		dl.NewSegment("OBX", "4", "ST", "68482^MDC_ATTR_ALARM_STATE^MDC", path+".4", state, "", "", "", "", "", "F", "", "", ts, "", "", "", d.equipment()),
		dl.NewSegment("OBX", "5", "ST", "68484^MDC_ATTR_ALARM_PRIORITY^MDC", path+".5", "PM", "", "", "", "", "", "F", "", "", ts, "", "", "", d.equipment()),
		dl.NewSegment("OBX", "6", "ST", "68483^MDC_ATTR_ALERT_TYPE^MDC", path+".6", "SP", "", "", "", "", "", "F", "", "", ts, "", "", "", d.equipment()))
	return m.Bytes()
}
