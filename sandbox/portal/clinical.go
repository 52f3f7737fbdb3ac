package portal

import (
	"context"
	"encoding/json"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
	"hpsandbox/sandbox/portal/chart"
)

// maxChartRows bounds the resources of one type a patient chart reads;
// a synthetic patient has far fewer.
const maxChartRows = 500

// clinicalRow is one line of a chart section: a problem, a medication, an
// allergy or a device.
type clinicalRow struct {
	ID, Text, Status, When, Detail string
}

// codeable is a CodeableConcept as the chart reads it.
type codeable struct {
	Text   string `json:"text"`
	Coding []struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display"`
	} `json:"coding"`
}

// String is the concept's text, else its first coding's display, else
// its code.
func (c codeable) String() string {
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Coding {
		if cd.Display != "" {
			return cd.Display
		}
	}
	if len(c.Coding) > 0 {
		return c.Coding[0].Code
	}
	return ""
}

// period is a Period's start, or a dateTime.
type period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// searchPatient reads up to maxChartRows resources of typ about the
// patient, sorted by sortBy ("" for none), from the sandbox only.
func (p *Portal) searchPatient(ctx context.Context, sandbox, typ, patient, sortBy string) ([]*fhirstore.Resource, error) {
	params := url.Values{"patient": {"Patient/" + patient}, "_count": {strconv.Itoa(maxChartRows)}}
	if sortBy != "" {
		params.Set("_sort", sortBy)
	}
	q, err := search.Parse(typ, params, search.Options{MaxCount: maxChartRows})
	if err != nil {
		return nil, err
	}
	res, err := p.d.Store.Search(ctx, fhirstore.Sandbox(sandbox), fhirstore.SearchQuery{Query: q})
	if err != nil {
		return nil, err
	}
	return res.Matches, nil
}

func parseCondition(body []byte) clinicalRow {
	var r struct {
		ID             string     `json:"id"`
		Code           codeable   `json:"code"`
		ClinicalStatus codeable   `json:"clinicalStatus"`
		Onset          string     `json:"onsetDateTime"`
		OnsetPeriod    period     `json:"onsetPeriod"`
		Recorded       string     `json:"recordedDate"`
		Category       []codeable `json:"category"`
	}
	_ = json.Unmarshal(body, &r)
	row := clinicalRow{ID: "Condition/" + r.ID, Text: r.Code.String(), Status: r.ClinicalStatus.String(),
		When: shortTime(firstOf(r.Onset, r.OnsetPeriod.Start, r.Recorded))}
	if len(r.Category) > 0 {
		row.Detail = r.Category[0].String()
	}
	return row
}

func parseMedication(typ string, body []byte) clinicalRow {
	var r struct {
		ID            string   `json:"id"`
		Status        string   `json:"status"`
		Medication    codeable `json:"medicationCodeableConcept"`
		MedicationRef struct {
			Display string `json:"display"`
		} `json:"medicationReference"`
		EffectiveDateTime string `json:"effectiveDateTime"`
		EffectivePeriod   period `json:"effectivePeriod"`
		AuthoredOn        string `json:"authoredOn"`
		Dosage            []struct {
			Text string `json:"text"`
		} `json:"dosage"`
		DosageInstruction []struct {
			Text string `json:"text"`
		} `json:"dosageInstruction"`
	}
	_ = json.Unmarshal(body, &r)
	row := clinicalRow{ID: typ + "/" + r.ID, Text: firstOf(r.Medication.String(), r.MedicationRef.Display), Status: r.Status,
		When: shortTime(firstOf(r.EffectiveDateTime, r.EffectivePeriod.Start, r.AuthoredOn))}
	for _, d := range append(r.Dosage, r.DosageInstruction...) {
		if d.Text != "" {
			row.Detail = d.Text
			break
		}
	}
	if typ == "MedicationRequest" {
		row.Detail = strings.TrimSpace("prescribed. " + row.Detail)
	}
	return row
}

func parseAllergy(body []byte) clinicalRow {
	var r struct {
		ID             string   `json:"id"`
		Code           codeable `json:"code"`
		ClinicalStatus codeable `json:"clinicalStatus"`
		Criticality    string   `json:"criticality"`
		Recorded       string   `json:"recordedDate"`
		Onset          string   `json:"onsetDateTime"`
		Reaction       []struct {
			Manifestation []codeable `json:"manifestation"`
		} `json:"reaction"`
	}
	_ = json.Unmarshal(body, &r)
	row := clinicalRow{ID: "AllergyIntolerance/" + r.ID, Text: r.Code.String(), Status: r.ClinicalStatus.String(),
		When: shortTime(firstOf(r.Onset, r.Recorded))}
	var parts []string
	if r.Criticality != "" {
		parts = append(parts, "criticality "+r.Criticality)
	}
	for _, rc := range r.Reaction {
		for _, m := range rc.Manifestation {
			parts = append(parts, m.String())
		}
	}
	row.Detail = strings.Join(parts, "; ")
	return row
}

func parseDevice(body []byte) clinicalRow {
	var r struct {
		ID         string   `json:"id"`
		Status     string   `json:"status"`
		Type       codeable `json:"type"`
		DeviceName []struct {
			Name string `json:"name"`
		} `json:"deviceName"`
		Manufacturer string `json:"manufacturer"`
		ModelNumber  string `json:"modelNumber"`
	}
	_ = json.Unmarshal(body, &r)
	row := clinicalRow{ID: "Device/" + r.ID, Text: r.Type.String(), Status: r.Status}
	if len(r.DeviceName) > 0 {
		row.Text = firstOf(r.DeviceName[0].Name, row.Text)
	}
	row.Detail = strings.TrimSpace(r.Manufacturer + " " + r.ModelNumber)
	return row
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// quantity is a Quantity as the chart reads it.
type quantity struct {
	Value *float64 `json:"value"`
	Unit  string   `json:"unit"`
	Code  string   `json:"code"`
}

// observation is an Observation as the chart reads it.
type observation struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Category  []codeable `json:"category"`
	Code      codeable   `json:"code"`
	Effective string     `json:"effectiveDateTime"`
	EffPeriod period     `json:"effectivePeriod"`
	Issued    string     `json:"issued"`
	Quantity  *quantity  `json:"valueQuantity"`
	Concept   *codeable  `json:"valueCodeableConcept"`
	String    *string    `json:"valueString"`
	Component []struct {
		Code     codeable  `json:"code"`
		Quantity *quantity `json:"valueQuantity"`
	} `json:"component"`
	ReferenceRange []struct {
		Low  *quantity `json:"low"`
		High *quantity `json:"high"`
		Text string    `json:"text"`
	} `json:"referenceRange"`
}

// when is the observation's clinically relevant time, or zero.
func (o *observation) when() time.Time {
	return parseFHIRTime(firstOf(o.Effective, o.EffPeriod.Start, o.Issued))
}

// category is "vital-signs", "laboratory", … or "".
func (o *observation) category() string {
	for _, c := range o.Category {
		for _, cd := range c.Coding {
			if cd.System == "http://terminology.hl7.org/CodeSystem/observation-category" {
				return cd.Code
			}
		}
	}
	return ""
}

// key is the observation's code as system|code, the plot it goes in.
func (o *observation) key() string {
	if len(o.Code.Coding) == 0 {
		return "text|" + o.Code.Text
	}
	return o.Code.Coding[0].System + "|" + o.Code.Coding[0].Code
}

func (q *quantity) unit() string { return firstOf(q.Unit, q.Code) }

// valueText is the observation's value as the table shows it.
func (o *observation) valueText() string {
	switch {
	case o.Quantity != nil && o.Quantity.Value != nil:
		return strconv.FormatFloat(*o.Quantity.Value, 'f', -1, 64) + " " + o.Quantity.unit()
	case o.Concept != nil:
		return o.Concept.String()
	case o.String != nil:
		return *o.String
	}
	var parts []string
	for _, c := range o.Component {
		if c.Quantity != nil && c.Quantity.Value != nil {
			parts = append(parts, strconv.FormatFloat(*c.Quantity.Value, 'f', -1, 64))
		}
	}
	if len(parts) > 0 && o.Component[0].Quantity != nil {
		return strings.Join(parts, "/") + " " + o.Component[0].Quantity.unit()
	}
	return ""
}

// shortTime writes a FHIR date or dateTime for a table: a dateTime to the
// minute in UTC, a date as it is.
func shortTime(s string) string {
	if len(s) <= len("2006-01-02") {
		return s
	}
	t := parseFHIRTime(s)
	if t.IsZero() {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// parseFHIRTime reads a FHIR date or dateTime; zero when it is neither.
func parseFHIRTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// knownRanges are usual adult ranges of vital signs, by LOINC code, for
// observations that carry no referenceRange of their own.
var knownRanges = map[string]chart.Range{
	"8867-4":  {Low: 60, High: 100, Label: "usual adult range"}, // heart rate, /min
	"9279-1":  {Low: 12, High: 20, Label: "usual adult range"},  // respiratory rate, /min
	"2708-6":  {Low: 95, High: 100, Label: "usual adult range"}, // oxygen saturation, %
	"59408-5": {Low: 95, High: 100, Label: "usual adult range"}, // SpO2 by pulse oximetry, %
	"8310-5":  {Low: 36.1, High: 37.8, Label: "usual adult range"},
	"8480-6":  {Low: 90, High: 139, Label: "usual adult range"}, // systolic, mmHg
	"8462-4":  {Low: 60, High: 89, Label: "usual adult range"},  // diastolic, mmHg
}

// trend is one measure's plot on the chart page.
type trend struct {
	Title string
	SVG   string
}

// plottable categories: vital signs and laboratory results.
var plottable = map[string]bool{"vital-signs": true, "laboratory": true}

// trends makes a plot of each vital-sign and laboratory code with at least
// two numeric values; a blood pressure panel becomes two series, systolic
// and diastolic, from its components.
func trends(obs []*observation) []trend {
	type group struct {
		title, unit string
		series      map[string][]chart.Point
		names       []string
		rng         *chart.Range
		code        string
		n           int
	}
	groups := map[string]*group{}
	var order []string
	add := func(g *group, name string, pt chart.Point) {
		if _, ok := g.series[name]; !ok {
			g.names = append(g.names, name)
		}
		g.series[name] = append(g.series[name], pt)
		g.n++
	}
	for _, o := range obs {
		t := o.when()
		if !plottable[o.category()] || t.IsZero() {
			continue
		}
		k := o.key()
		g := groups[k]
		if g == nil {
			g = &group{title: o.Code.String(), series: map[string][]chart.Point{}}
			if len(o.Code.Coding) > 0 {
				g.code = o.Code.Coding[0].Code
			}
			groups[k] = g
			order = append(order, k)
		}
		switch {
		case o.Quantity != nil && o.Quantity.Value != nil:
			g.unit = firstOf(g.unit, o.Quantity.unit())
			add(g, "", chart.Point{T: t, V: *o.Quantity.Value})
		default:
			for _, c := range o.Component {
				if c.Quantity == nil || c.Quantity.Value == nil {
					continue
				}
				g.unit = firstOf(g.unit, c.Quantity.unit())
				name := c.Code.String()
				if len(c.Code.Coding) > 0 {
					switch c.Code.Coding[0].Code {
					case "8480-6":
						name = "systolic"
					case "8462-4":
						name = "diastolic"
					}
				}
				add(g, name, chart.Point{T: t, V: *c.Quantity.Value})
			}
		}
		for _, rr := range o.ReferenceRange {
			r := chart.Range{Low: math.NaN(), High: math.NaN(), Label: "reference range"}
			if rr.Low != nil && rr.Low.Value != nil {
				r.Low = *rr.Low.Value
			}
			if rr.High != nil && rr.High.Value != nil {
				r.High = *rr.High.Value
			}
			if !math.IsNaN(r.Low) || !math.IsNaN(r.High) {
				g.rng = &r
				break
			}
		}
	}
	var out []trend
	for _, k := range order {
		g := groups[k]
		if g.n < 2 {
			continue
		}
		pl := chart.Plot{Title: g.title, Unit: g.unit, Range: g.rng}
		if pl.Range == nil && len(g.names) == 1 {
			if r, ok := knownRanges[g.code]; ok {
				pl.Range = &r
			}
		}
		for _, name := range g.names {
			pl.Series = append(pl.Series, chart.Series{Name: name, Points: g.series[name]})
		}
		if len(pl.Series) == 1 && len(pl.Series[0].Points) < 2 {
			continue
		}
		out = append(out, trend{Title: g.title, SVG: pl.SVG()})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Title < out[j].Title })
	return out
}
