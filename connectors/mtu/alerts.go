package mtu

import (
	"strings"
)

// Alert attributes of an IHE PCD-04 (Report Alert) message, recognised by
// their MDC reference id in OBX-3.2 (IHE PCD TF-2, ACM profile).
const (
	refEventPhase = "MDC_ATTR_EVENT_PHASE"
	refAlarmState = "MDC_ATTR_ALARM_STATE"
	refPriority   = "MDC_ATTR_ALARM_PRIORITY"
	refAlertType  = "MDC_ATTR_ALERT_TYPE"
)

// alertSeverity maps the alarm priority (PH, PM, PL, PN) to
// DetectedIssue.severity.
var alertSeverity = map[string]string{"PH": "high", "PM": "moderate", "PL": "low"}

// alert is one alert of a PCD-04 message: the OBX rows of one OBR.
type alert struct {
	obr                    int
	event                  *row // the alert's event (its first row)
	source                 *row // the metric that raised it, when reported
	phase, state, priority string
	kind                   string
	id, start              string
}

// alerts adds, for each alert (OBR) of a PCD-04 message, a DetectedIssue
// and a Flag on the patient, and the Observation of the metric that
// raised it; it returns how many resources it adds.
func (b *builder) alerts() int {
	byOBR := map[int]*alert{}
	var order []*alert
	for _, r := range b.rows {
		a := byOBR[r.obr]
		if a == nil {
			a = &alert{obr: r.obr}
			byOBR[r.obr] = a
			order = append(order, a)
		}
		name := r.code.Comp(2).String()
		text := ""
		if s, ok := r.value.(string); ok {
			text = s
		} else if cc, ok := r.value.(obj); ok {
			if cs, ok := cc["coding"].([]obj); ok && len(cs) > 0 {
				text, _ = cs[0]["code"].(string)
			}
		}
		switch {
		case a.event == nil:
			a.event = r
		case name == refEventPhase:
			a.phase = text
		case name == refAlarmState:
			a.state = text
		case name == refPriority:
			a.priority = text
		case name == refAlertType:
			a.kind = text
		case a.source == nil && r.valueKey == "valueQuantity":
			a.source = r
		}
	}
	n := 0
	obrSeq := 0
	for i := range b.m.Segments {
		s := &b.m.Segments[i]
		if s.Name != "OBR" {
			continue
		}
		obrSeq++
		if a := byOBR[obrSeq]; a != nil {
			a.id = s.Field(3).Comp(1).String()
			if a.id == "" {
				a.id = s.Field(2).Comp(1).String()
			}
			if ts, ok := b.time("OBR", obrSeq, 7, s.Field(7)); ok {
				a.start = fhirTime(ts)
			}
		}
	}
	for _, a := range order {
		if a.event == nil {
			continue
		}
		n += b.alert(a)
	}
	return n
}

func (b *builder) alert(a *alert) int {
	ev := a.event
	when := a.start
	if when == "" {
		when = ev.effective
	}
	code := obj{"coding": []obj{coding(ev.code)}}
	if s, ok := ev.value.(string); ok && s != "" {
		code["text"] = s
	}
	n := 0
	issue := obj{"resourceType": "DetectedIssue", "patient": b.patient, "code": code,
		"status": "preliminary"}
	if strings.EqualFold(a.phase, "end") || strings.EqualFold(a.state, "inactive") {
		issue["status"] = "final"
	}
	if sev := alertSeverity[strings.ToUpper(a.priority)]; sev != "" {
		issue["severity"] = sev
	}
	if when != "" {
		issue["identifiedDateTime"] = when
	}
	if ev.device != "" {
		issue["author"] = obj{"reference": ev.device}
	}
	detail := []string{}
	if a.kind != "" {
		detail = append(detail, "alert type "+a.kind)
	}
	if a.phase != "" {
		detail = append(detail, "phase "+a.phase)
	}
	if a.state != "" {
		detail = append(detail, "state "+a.state)
	}
	if a.priority != "" {
		detail = append(detail, "priority "+a.priority)
	}
	if len(detail) > 0 {
		issue["detail"] = strings.Join(detail, ", ")
	}
	if a.id != "" {
		issue["identifier"] = []obj{{"system": "urn:hpsandbox:mtu:alert", "value": a.id}}
	}
	if a.source != nil && a.source.status != "" {
		issue["implicated"] = []obj{{"reference": b.add(b.observation(a.source))}}
		n++
	}
	b.add(issue)
	flag := obj{"resourceType": "Flag", "status": "active", "code": code, "subject": b.patient,
		"category": []obj{{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "clinical", "display": "Clinical"}}}}}
	if issue["status"] == "final" {
		flag["status"] = "inactive"
	}
	if when != "" {
		period := obj{"start": when}
		if flag["status"] == "inactive" && ev.effective != "" && ev.effective >= when {
			period["end"] = ev.effective
		}
		flag["period"] = period
	}
	if ev.device != "" {
		flag["author"] = obj{"reference": ev.device}
	}
	b.add(flag)
	return n + 2
}
