package mtu

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"hpsandbox/connectors/hl7v2"
	"hpsandbox/fhirstore/fhirjson"
)

// builder turns one parsed message into the entries of a FHIR
// transaction, noting problems as it goes.
type builder struct {
	m       *hl7v2.Message
	h       header
	loc     *time.Location
	ps      *problems
	patient obj // the subject reference
	msgTime string
	devices map[string]string         // device identifier → fullUrl of its entry, or its Device/id when known
	known   func(query string) string // the Device/id stored before for a query, "" when none is known
	created map[int]string            // entry index → query, of the Device entries added
	gateway string                    // fullUrl of the sending device (MSH-3), "" when it names none
	entries []obj
	rows    []*row
}

// row is one OBX with the NTE segments that follow it.
type row struct {
	seq            int // occurrence among OBX, for ERR-2
	setID, path    string
	code           hl7v2.Value
	mdc            string // OBX-3.1 when OBX-3 is MDC-coded
	valueType      string
	valueKey       string
	value          any
	unit           unit
	status         string
	effective      string
	device         string // fullUrl of the Device entry, "" for none
	interpretation string
	low, high      json.Number
	notes          []string
	metric         metric
	mapped         bool
	hierarchy      bool // a device-hierarchy row (MDS, VMD, CHAN) without a value
	skip           bool // a value of a type the connector does not store
	obr            int  // occurrence of the OBR the row belongs to
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return "urn:uuid:" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// time reads a timestamp field, noting a malformed one.
func (b *builder) time(seg string, seq, field int, v hl7v2.Value) (hl7v2.TS, bool) {
	if v.Empty() {
		return hl7v2.TS{}, false
	}
	ts, err := hl7v2.ParseTS(v.Comp(1).String(), b.loc)
	if err != nil {
		b.ps.fail(seg, seq, field, hl7v2.CodeDataType, "%s-%d: %v", seg, field, err)
		return hl7v2.TS{}, false
	}
	return ts, true
}

// device returns the fullUrl of the Device entry for an EI (OBX-18:
// id^namespace^universal id^type), adding the entry the first time.
func (b *builder) device(ei hl7v2.Value, typ obj) string {
	return b.deviceOf(ei.Comp(1).String(), ei.Comp(2).String(), ei.Comp(3).String(), ei.Comp(4).String(), typ)
}

// deviceOf returns the fullUrl of the Device entry for an equipment id,
// adding the entry the first time: a conditional create on its
// identifier, so that a device is stored once however many messages it
// sends. name is the id's namespace, uid and idType its universal id and
// type.
func (b *builder) deviceOf(id, name, uid, idType string, typ obj) string {
	if id == "" {
		return ""
	}
	ident := obj{"value": id}
	query := "identifier=" + id
	if isEUI64(id, idType) {
		id = strings.ToUpper(id)
		ident = obj{"system": systemEUI64, "value": id, "type": obj{"text": "EUI-64"}}
		query = "identifier=" + systemEUI64 + "|" + id
	} else if uid != "" && strings.EqualFold(idType, "ISO") {
		ident["system"] = "urn:oid:" + uid
		query = "identifier=urn:oid:" + uid + "|" + id
	}
	if url, ok := b.devices[query]; ok {
		return url
	}
	if b.known != nil {
		if ref := b.known(query); ref != "" {
			b.devices[query] = ref
			return ref
		}
	}
	dev := obj{"resourceType": "Device", "identifier": []obj{ident}, "status": "active"}
	if name != "" {
		dev["deviceName"] = []obj{{"name": name, "type": "user-friendly-name"}}
	}
	if typ != nil {
		dev["type"] = obj{"coding": []obj{typ}}
	}
	url := newUUID()
	b.devices[query] = url
	if b.created == nil {
		b.created = map[int]string{}
	}
	b.created[len(b.entries)] = query
	b.entries = append(b.entries, obj{"fullUrl": url, "resource": dev,
		"request": obj{"method": "POST", "url": "Device", "ifNoneExist": query}})
	return url
}

// isEUI64 reports whether an equipment id is an EUI-64: 16 hexadecimal
// digits, or named so in its type.
func isEUI64(id, typ string) bool {
	if strings.EqualFold(typ, "EUI-64") {
		return true
	}
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// readRows reads every OBX (and the NTE after it) under its OBR.
func (b *builder) readRows() {
	obr, obx := 0, 0
	var last *row
	var obrTime string
	for i := range b.m.Segments {
		s := &b.m.Segments[i]
		switch s.Name {
		case "OBR":
			obr++
			obrTime = ""
			if ts, ok := b.time("OBR", obr, 7, s.Field(7)); ok {
				obrTime = fhirTime(ts)
			}
			last = nil
		case "OBX":
			obx++
			last = b.readRow(s, obx, obr, obrTime)
			b.rows = append(b.rows, last)
		case "NTE":
			if last != nil {
				if text := strings.TrimSpace(s.Field(3).String()); text != "" {
					last.notes = append(last.notes, text)
				}
			}
		}
	}
}

func (b *builder) readRow(s *hl7v2.Segment, seq, obr int, obrTime string) *row {
	r := &row{seq: seq, obr: obr, setID: s.Get(1, 1), valueType: s.Get(2, 1), code: s.Field(3), path: s.Get(4, 1)}
	if s.Field(3).Empty() {
		b.ps.fail("OBX", seq, 3, hl7v2.CodeRequiredMissing, "OBX-3 (observation identifier) is empty")
		return r
	}
	if strings.EqualFold(s.Field(3).Comp(3).String(), "MDC") {
		r.mdc = s.Get(3, 1)
	}
	if s.Field(5).Empty() && r.valueType == "" {
		// A device-hierarchy row; the MDS row (n.0.0.0) types the device.
		r.hierarchy = true
		if strings.HasSuffix(r.path, ".0.0.0") && r.mdc != "" {
			b.device(s.Field(18), coding(r.code))
		}
		return r
	}
	r.unit = readUnit(s.Field(6).Comp(1).String(), s.Field(6).Comp(2).String(), s.Field(6).Comp(3).String())
	r.metric, r.mapped = lookupMetric(r.mdc, r.unit.UCUM)
	b.readValue(s, r)
	status := s.Get(11, 1)
	r.status = observationStatus[status]
	switch {
	case status == "":
		b.ps.fail("OBX", seq, 11, hl7v2.CodeRequiredMissing, "OBX-11 (observation result status) is empty")
	case r.status == "":
		b.ps.fail("OBX", seq, 11, hl7v2.CodeTableValue, "OBX-11 %q is not a result status of HL7 table 0085", status)
	}
	r.effective = obrTime
	if ts, ok := b.time("OBX", seq, 14, s.Field(14)); ok {
		r.effective = fhirTime(ts)
	}
	if r.effective == "" {
		r.effective = b.msgTime
	}
	if code, ok := interpretations[s.Get(8, 1)]; ok {
		r.interpretation = code
	}
	if lo, hi, ok := strings.Cut(s.Get(7, 1), "-"); ok {
		r.low, _ = fhirNumber(lo)
		r.high, _ = fhirNumber(hi)
	}
	r.device = b.device(s.Field(18), nil)
	if r.device == "" {
		r.device = b.gateway
	}
	return r
}

// readValue reads OBX-5 as OBX-2 types it.
func (b *builder) readValue(s *hl7v2.Segment, r *row) {
	v := s.Field(5)
	if v.Empty() && r.valueType != "" {
		// No value, as for a result that could not be obtained (OBX-11
		// X): stored with a data-absent reason.
		return
	}
	switch r.valueType {
	case "NM":
		n, ok := fhirNumber(v.String())
		if !ok {
			b.ps.fail("OBX", r.seq, 5, hl7v2.CodeDataType, "OBX-5 %q is not a number, as OBX-2 NM says", v.String())
			return
		}
		q := obj{"value": n}
		if r.unit.Text != "" {
			q["unit"] = r.unit.Text
		}
		if r.unit.UCUM != "" {
			q["system"], q["code"] = systemUCUM, r.unit.UCUM
		}
		r.valueKey, r.value = "valueQuantity", q
	case "ST", "TX", "FT":
		r.valueKey, r.value = "valueString", v.String()
	case "CWE", "CE", "CNE", "CF":
		c := coding(v)
		if len(c) == 0 {
			b.ps.fail("OBX", r.seq, 5, hl7v2.CodeDataType, "OBX-5 holds no code, as OBX-2 %s says it does", r.valueType)
			return
		}
		r.valueKey, r.value = "valueCodeableConcept", obj{"coding": []obj{c}}
	case "DTM", "TS":
		ts, ok := b.time("OBX", r.seq, 5, v)
		if ok {
			r.valueKey, r.value = "valueDateTime", fhirTime(ts)
		}
	case "":
		b.ps.fail("OBX", r.seq, 2, hl7v2.CodeRequiredMissing, "OBX-2 (value type) is empty but OBX-5 holds a value")
	default:
		r.skip = true
		b.ps.warn("OBX", r.seq, 2, hl7v2.CodeDataType, "value type %s is not stored (NM, ST, TX, FT, CWE, CE, CNE, DTM and TS are)", r.valueType)
	}
}

// observation is the Observation of one row.
func (b *builder) observation(r *row) obj {
	o := obj{"resourceType": "Observation", "status": r.status, "subject": b.patient}
	var codings []obj
	if r.mapped {
		codings = append(codings, obj{"system": systemLOINC, "code": r.metric.LOINC, "display": r.metric.Display})
		o["category"] = vitalSigns
	}
	codings = append(codings, coding(r.code))
	o["code"] = obj{"coding": codings}
	if r.effective != "" {
		o["effectiveDateTime"] = r.effective
	}
	if r.valueKey != "" {
		o[r.valueKey] = r.value
	} else {
		o["dataAbsentReason"] = obj{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}}}
	}
	if r.device != "" {
		o["device"] = obj{"reference": r.device}
	}
	if r.interpretation != "" {
		o["interpretation"] = []obj{{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": r.interpretation}}}}
	}
	if rr := b.referenceRange(r); rr != nil {
		o["referenceRange"] = []obj{rr}
	}
	if len(r.notes) > 0 {
		notes := make([]obj, len(r.notes))
		for i, n := range r.notes {
			notes[i] = obj{"text": n}
		}
		o["note"] = notes
	}
	o["identifier"] = []obj{b.identifier(r)}
	return o
}

var vitalSigns = []obj{{"coding": []obj{{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}}}}

// identifier names the OBX an Observation came from: the message control
// id and the OBX's set id (or position), under the sender.
func (b *builder) identifier(r *row) obj {
	set := r.setID
	if set == "" {
		set = fmt.Sprint(r.seq)
	}
	return obj{"system": "urn:hpsandbox:mtu:obx", "value": b.h.ControlID + "/" + set}
}

func (b *builder) referenceRange(r *row) obj {
	if r.low == "" && r.high == "" {
		return nil
	}
	rr := obj{}
	q := func(n json.Number) obj {
		v := obj{"value": n}
		if r.unit.UCUM != "" {
			v["system"], v["code"] = systemUCUM, r.unit.UCUM
		}
		if r.unit.Text != "" {
			v["unit"] = r.unit.Text
		}
		return v
	}
	if r.low != "" {
		rr["low"] = q(r.low)
	}
	if r.high != "" {
		rr["high"] = q(r.high)
	}
	return rr
}

// observations adds the Observations of the rows: one per row, except
// that components of a vital-signs panel reported together (same parent
// in OBX-4, same time, same device) become one Observation of the panel.
func (b *builder) observations() int {
	type key struct{ panel, parent, effective, device string }
	panelObs := map[key]obj{}
	n := 0
	for _, r := range b.rows {
		if r.hierarchy || r.skip || r.status == "" {
			continue
		}
		if !r.mapped || r.metric.Panel == "" || r.valueKey != "valueQuantity" {
			b.add(b.observation(r))
			n++
			continue
		}
		k := key{r.metric.Panel, parentOf(r.path), r.effective, r.device}
		comp := obj{"code": obj{"coding": []obj{{"system": systemLOINC, "code": r.metric.LOINC, "display": r.metric.Display}, coding(r.code)}},
			r.valueKey: r.value}
		if o, ok := panelObs[k]; ok {
			o["component"] = append(o["component"].([]obj), comp)
			continue
		}
		o := b.observation(r)
		delete(o, r.valueKey)
		codings := []obj{{"system": systemLOINC, "code": r.metric.Panel, "display": panels[r.metric.Panel]}}
		if parent := b.parentCode(r); parent != nil {
			codings = append(codings, parent)
		}
		o["code"] = obj{"coding": codings}
		o["component"] = []obj{comp}
		delete(o, "referenceRange")
		panelObs[k] = o
		b.add(o)
		n++
	}
	return n
}

// parentCode is the MDC coding of the row one level up in the
// containment (the compound metric of a panel's components), if sent.
func (b *builder) parentCode(r *row) obj {
	parent := parentOf(r.path)
	for _, p := range b.rows {
		if p.path == parent && p.obr == r.obr && p.mdc != "" {
			return coding(p.code)
		}
	}
	return nil
}

func (b *builder) add(res obj) string {
	url := newUUID()
	b.entries = append(b.entries, obj{"fullUrl": url, "resource": res,
		"request": obj{"method": "POST", "url": res["resourceType"]}})
	return url
}

// bundle is the transaction of the entries.
func (b *builder) bundle() ([]byte, error) {
	return fhirjson.AppendJSON(make([]byte, 0, 2048*len(b.entries)), obj{"resourceType": "Bundle", "type": "transaction", "entry": b.entries})
}
