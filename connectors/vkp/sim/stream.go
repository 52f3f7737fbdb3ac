package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"hpsandbox/connectors/vkp"
)

// stream makes the events of one simulation, in time order.
type stream struct {
	r    *rand.Rand
	p    *person
	t    time.Time
	step int // position in the night's script
}

type obj = map[string]any

// operator is the response centre's operator, named by HPR number (a
// synthetic one, in the range the fixtures use).
var operator = obj{"identifier": obj{"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9199901"}, "display": "Responssenter, operatør"}

// alarmStage is one message of an alarm's life.
type alarmStage struct {
	code, display string // vkp-alert-code
	event         string // vkp-composition-event: 0 reported, 1 handled, 3 acknowledged
	final         bool   // journaled
}

// nightScript is the night of a fall-sensor patient: each line one
// submission; an alarm's stages share its identifiers.
var nightScript = []struct {
	alarm     int // which alarm of the night (its identifiers), -1 none
	stage     alarmStage
	kind      vkp.Kind
	minutesTo [2]int // until the next event, drawn from the range
}{
	{0, alarmStage{"4.2", "Forlatt seng", "0", false}, vkp.Alarm, [2]int{2, 6}},
	{0, alarmStage{"4.2", "Forlatt seng", "3", true}, vkp.Alarm, [2]int{30, 90}},
	{1, alarmStage{"4.15", "Dør åpnet", "0", false}, vkp.Alarm, [2]int{1, 3}},
	{1, alarmStage{"4.15", "Dør åpnet", "1", false}, vkp.Alarm, [2]int{3, 8}},
	{1, alarmStage{"4.15", "Dør åpnet", "3", true}, vkp.Alarm, [2]int{40, 120}},
	{2, alarmStage{"4.1", "Fall", "0", false}, vkp.Alarm, [2]int{1, 2}},
	{2, alarmStage{"4.1", "Fall", "1", false}, vkp.Alarm, [2]int{10, 20}},
	{2, alarmStage{"4.1", "Fall", "3", false}, vkp.Alarm, [2]int{5, 15}},
	{2, alarmStage{"4.1", "Fall", "3", true}, vkp.Alarm, [2]int{60, 120}},
	{-1, alarmStage{"4.26", "Planlagt kameratilsyn", "5", true}, vkp.Supervision, [2]int{60, 120}},
	{-1, alarmStage{"1.1", "", "", false}, vkp.Dispense, [2]int{0, 0}},
}

// night returns the next submission of the night script; after the
// morning's dispenser event the next night starts at 21:30.
func (g *stream) night() (Event, []byte) {
	line := nightScript[g.step%len(nightScript)]
	night := g.step / len(nightScript)
	at := g.t
	var body []byte
	what := line.stage.code + " " + line.stage.display
	switch line.kind {
	case vkp.Alarm:
		body = g.alarm(fmt.Sprintf("%d-%d", night, line.alarm), line.stage, at)
		what += fmt.Sprintf(" (event %s%s)", line.stage.event, map[bool]string{true: ", journaled"}[line.stage.final])
	case vkp.Supervision:
		body = g.supervision(fmt.Sprintf("%d-sup", night), at)
	case vkp.Dispense:
		at = time.Date(at.Year(), at.Month(), at.Day(), 8, g.r.IntN(20), 0, 0, at.Location())
		body = g.dispense(fmt.Sprintf("%d-disp", night), at)
		what = "1.1 medisin utlevert"
	}
	g.step++
	if g.step%len(nightScript) == 0 {
		y, m, d := at.Date()
		g.t = time.Date(y, m, d, 21, 30, 0, 0, at.Location())
	} else {
		g.t = at.Add(time.Duration(line.minutesTo[0]+g.r.IntN(line.minutesTo[1]-line.minutesTo[0]+1)) * time.Minute)
	}
	return Event{At: at, Kind: line.kind, What: what}, body
}

func (g *stream) subject() obj {
	s := obj{"identifier": obj{"system": g.p.system, "value": g.p.nin}}
	if g.p.name != "" {
		s["display"] = g.p.name
	}
	return s
}

// id is a stable urn:uuid for a name within the simulated person, so that
// an alarm's stages and a retried submission carry the same identifiers.
func (g *stream) id(name string) string {
	h := uint64(14695981039346656037)
	for _, c := range []byte(g.p.nin + "/" + name) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	l := h*0x9e3779b97f4a7c15 + 1
	return fmt.Sprintf("urn:uuid:%08x-%04x-4%03x-8%03x-%012x", uint32(h>>32), uint16(h>>16), uint16(h)&0xfff, uint16(l>>48)&0xfff, l&0xffffffffffff)
}

func ts(t time.Time) string { return t.Format(time.RFC3339) }

func coding(system, code, display string) obj {
	c := obj{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return c
}

func concept(c obj) obj { return obj{"coding": []any{c}} }

func own(id string) obj { return obj{"system": "urn:ietf:rfc:3986", "value": id} }

const (
	csAlert    = vkp.SystemAlertCode
	csCategory = vkp.SystemCompositionCategory
	csEvent    = vkp.SystemCompositionEvent
	csMode     = "http://ehelse.no/fhir/CodeSystem/vkp-encounter-mode-v090"
	csReason   = "http://ehelse.no/fhir/CodeSystem/vkp-encounter-reason-v090"
	actCode    = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
)

var eventDisplay = map[string]string{"0": "hendelse meldt", "1": "hendelse behandles", "3": "hendelse kvittert", "5": "hendelse ok utrykning"}

func device(typ, name, where string) obj {
	return obj{"url": "http://ehelse.no/fhir/StructureDefinition/vkp-encounterDevice-v090", "extension": []any{
		obj{"url": "identifier", "valueString": "FIKTIV-" + typ}, obj{"url": "displayName", "valueString": name},
		obj{"url": "type", "valueString": typ}, obj{"url": "location", "valueString": where}}}
}

func (g *stream) alarm(name string, st alarmStage, at time.Time) []byte {
	issue, enc, comp := g.id(name+"/issue"), g.id(name+"/encounter"), g.id(name+"/composition")
	status, compStatus := "in-progress", "preliminary"
	if st.event == "3" {
		status = "finished"
	}
	if st.final {
		compStatus = "final"
	}
	period := obj{"start": ts(at)}
	if status == "finished" {
		period["end"] = ts(at.Add(time.Minute))
	}
	e := obj{"resourceType": "Encounter", "meta": obj{"profile": []any{"http://ehelse.no/fhir/StructureDefinition/vkp-Encounter-v090"}},
		"extension":  []any{device("sensor-"+st.code, "Sensor "+st.display, "soverom")},
		"identifier": []any{own(enc)}, "status": status, "class": coding(actCode, "HH", "home health"),
		"type": []any{concept(coding(csAlert, st.code, st.display))}, "subject": g.subject(),
		"participant": []any{obj{"type": []any{concept(coding(csMode, "2", "toveis tale"))}, "individual": operator}},
		"period":      period, "reasonCode": []any{concept(coding(csReason, "2", "hendelsesbasert tilsyn"))}}
	d := obj{"resourceType": "DetectedIssue", "meta": obj{"profile": []any{"http://ehelse.no/fhir/StructureDefinition/vkp-DetectedIssue-v090"}},
		"identifier": []any{own(issue)}, "status": "final", "code": concept(coding(csAlert, st.code, st.display)),
		"patient": g.subject(), "identifiedDateTime": ts(at)}
	c := obj{"resourceType": "Composition", "meta": obj{"profile": []any{vkp.CompositionProfile}},
		"identifier": own(comp), "status": compStatus, "type": obj{"text": "Hendelsesrapport"},
		"category": []any{concept(coding(csCategory, "1", "Trygghet og mestring"))}, "subject": g.subject(),
		"encounter": obj{"reference": enc}, "date": ts(at), "author": []any{obj{"display": "Responssenter"}},
		"title": st.display, "event": []any{obj{"code": []any{concept(coding(csEvent, st.event, eventDisplay[st.event]))}, "period": obj{"start": ts(at)}}}}
	return bundle("transaction", [][2]any{{issue, d}, {enc, e}, {comp, c}})
}

func (g *stream) supervision(name string, at time.Time) []byte {
	enc, comp := g.id(name+"/encounter"), g.id(name+"/composition")
	e := obj{"resourceType": "Encounter", "meta": obj{"profile": []any{"http://ehelse.no/fhir/StructureDefinition/vkp-digital-Encounter-v090"}},
		"extension": []any{device("kamera", "Kamera stue", "stue")}, "identifier": []any{own(enc)}, "status": "finished",
		"class": coding(actCode, "VR", "virtual"), "type": []any{concept(coding(csAlert, "4.26", "Planlagt kameratilsyn"))},
		"subject":     g.subject(),
		"participant": []any{obj{"type": []any{concept(coding(csMode, "1", "bildetilsyn"))}, "individual": operator}},
		"period":      obj{"start": ts(at), "end": ts(at.Add(90 * time.Second))},
		"reasonCode":  []any{concept(coding(csReason, "1", "planlagt tilsyn"))}, "location": []any{obj{"location": obj{"display": "stue"}}}}
	c := obj{"resourceType": "Composition", "identifier": own(comp), "status": "final", "type": obj{"text": "Tilsynsrapport"},
		"category": []any{concept(coding(csCategory, "1", "Trygghet og mestring"))}, "subject": g.subject(),
		"encounter": obj{"reference": enc}, "date": ts(at), "author": []any{obj{"display": "Responssenter"}}, "title": "Planlagt kameratilsyn",
		"event": []any{obj{"code": []any{concept(coding(csEvent, "5", eventDisplay["5"]))}}}}
	return bundle("transaction", [][2]any{{enc, e}, {comp, c}})
}

func (g *stream) dispense(name string, at time.Time) []byte {
	id := g.id(name)
	d := obj{"resourceType": "MedicationDispense", "meta": obj{"profile": []any{"http://ehelse.no/fhir/StructureDefinition/vkp-MedicationDispense-v090"}},
		"extension": []any{obj{"url": "http://ehelse.no/fhir/StructureDefinition/VkpMedicationDispenseDevice-v090", "extension": []any{
			obj{"url": "identifier", "valueString": "FIKTIV-DISP-0001"}, obj{"url": "displayName", "valueString": "Medisindispenser kjøkken"},
			obj{"url": "type", "valueString": "medisindispenser"}, obj{"url": "typeName", "valueString": "Medisindispenser"},
			obj{"url": "location", "valueString": "kjøkken"}}}},
		"identifier": []any{own(id)}, "status": "completed",
		"category":                  concept(coding(vkp.SystemDispenseEvents, "1.1", "medisin utlevert uassistert")),
		"medicationCodeableConcept": obj{"text": "Multidosepose 08:00"}, "subject": g.subject(),
		"performer":      []any{obj{"actor": obj{"identifier": obj{"system": "urn:oid:2.16.578.1.12.4.1.2", "value": "9144889"}, "display": "Hjemmetjenesten"}}},
		"whenHandedOver": ts(at), "dosageInstruction": []any{obj{"sequence": 1, "text": "Morgendose"}}}
	return bundle("collection", [][2]any{{id, d}})
}

// measurement returns the next home measurement: each morning blood
// pressure, heart rate, SpO2 and weight, and a temperature some days.
func (g *stream) measurement() (Event, []byte) {
	kinds := []string{"bp", "hr", "spo2", "weight", "temp"}
	k := kinds[g.step%len(kinds)]
	day := g.step / len(kinds)
	y, m, d := g.t.Date()
	at := time.Date(y, m, d, 7, 30, 0, 0, g.t.Location()).AddDate(0, 0, day+1).Add(time.Duration(g.step%len(kinds)*3+g.r.IntN(3)) * time.Minute)
	g.step++
	id := g.id(fmt.Sprintf("m-%d-%s", day, k))
	o := obj{"resourceType": "Observation", "identifier": []any{own(id)}, "status": "final",
		"category": []any{concept(coding("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs"))},
		"subject":  g.subject(), "effectiveDateTime": ts(at)}
	q := func(v float64, unit, code string) obj {
		return obj{"value": json.Number(fmt.Sprintf("%g", math.Round(v*10)/10)), "unit": unit, "system": "http://unitsofmeasure.org", "code": code}
	}
	var what string
	switch k {
	case "bp":
		sys, dia := 135+g.r.NormFloat64()*8, 82+g.r.NormFloat64()*5
		o["meta"] = obj{"profile": []any{"http://ehelse.no/fhir/StructureDefinition/vkp-Observation-Bloodpressure-v090"}}
		o["code"] = obj{"coding": []any{coding("http://loinc.org", "85354-9", "Blood pressure panel with all children optional"), coding("http://snomed.info/sct", "75367002", "")}}
		o["component"] = []any{
			obj{"code": obj{"coding": []any{coding("http://loinc.org", "8480-6", "Systolic blood pressure"), coding("http://snomed.info/sct", "271649006", "")}}, "valueQuantity": q(math.Round(sys), "mmHg", "mm[Hg]")},
			obj{"code": obj{"coding": []any{coding("http://loinc.org", "8462-4", "Diastolic blood pressure"), coding("http://snomed.info/sct", "271650006", "")}}, "valueQuantity": q(math.Round(dia), "mmHg", "mm[Hg]")},
		}
		what = fmt.Sprintf("blood pressure %.0f/%.0f mmHg", sys, dia)
	case "hr":
		v := math.Round(74 + g.r.NormFloat64()*6)
		o["meta"] = obj{"profile": []any{"http://hl7.no/fhir/StructureDefinition/vkp-Observation-Heartrate-v090"}}
		o["code"] = obj{"coding": []any{coding("http://loinc.org", "8867-4", "Heart rate"), coding("http://snomed.info/sct", "364075005", "")}}
		o["valueQuantity"] = q(v, "beats/minute", "/min")
		what = fmt.Sprintf("heart rate %.0f/min", v)
	case "spo2":
		v := math.Min(99, math.Round(94+g.r.NormFloat64()*1.5))
		o["meta"] = obj{"profile": []any{"http://hl7.no/fhir/StructureDefinition/vkp-Observation-Oxygensat-v090"}}
		o["code"] = obj{"coding": []any{coding("http://loinc.org", "2708-6", "Oxygen saturation in Arterial blood"), coding("http://snomed.info/sct", "431314004", "")}}
		o["valueQuantity"] = q(v, "%", "%")
		what = fmt.Sprintf("SpO2 %.0f %%", v)
	case "weight":
		v := 82 + float64(day)*0.3 + g.r.NormFloat64()*0.3
		o["meta"] = obj{"profile": []any{"http://hl7.no/fhir/StructureDefinition/vkp-Observation-Bodyweight-v090"}}
		o["code"] = obj{"coding": []any{coding("http://loinc.org", "29463-7", "Body weight"), coding("http://snomed.info/sct", "27113001", "")}}
		o["valueQuantity"] = q(v, "kg", "kg")
		what = fmt.Sprintf("weight %.1f kg", v)
	case "temp":
		v := 36.8 + g.r.NormFloat64()*0.3
		o["meta"] = obj{"profile": []any{"http://hl7.no/fhir/StructureDefinition/vkp-Observation-Bodytemp-v090"}}
		o["code"] = obj{"coding": []any{coding("http://loinc.org", "8310-5", "Body temperature"), coding("http://snomed.info/sct", "276885007", "")}}
		o["valueQuantity"] = q(v, "C", "Cel")
		what = fmt.Sprintf("temperature %.1f °C", v)
	}
	return Event{At: at, Kind: vkp.Measurements, What: what}, bundle("collection", [][2]any{{id, o}})
}

// bundle wraps resources, each with the fullUrl of its own identifier.
func bundle(typ string, resources [][2]any) []byte {
	entries := make([]any, len(resources))
	for i, r := range resources {
		entries[i] = obj{"fullUrl": r[0], "resource": r[1]}
	}
	b, _ := json.Marshal(obj{"resourceType": "Bundle", "type": typ, "entry": entries})
	return b
}
