package devicesim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"hpsandbox/connectors/mtu"
)

// Codes and systems of the HL7 Personal Health Device IG the uploads use.
const (
	phdProfile      = "http://hl7.org/fhir/uv/phd/StructureDefinition/"
	systemMDC       = "urn:iso:std:iso:11073:10101"
	systemLOINC     = "http://loinc.org"
	systemUCUM      = "http://unitsofmeasure.org"
	systemSysID     = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680" // IEEE EUI-64 system id
	systemDeviceIDs = "http://hl7.org/fhir/uv/phd/CodeSystem/ContinuaDeviceIdentifiers"
	systemV20203    = "http://terminology.hl7.org/CodeSystem/v2-0203"
	systemCategory  = "http://terminology.hl7.org/CodeSystem/observation-category"
	systemFNR       = "urn:oid:2.16.578.1.12.4.1.4.1"
	mdcMDSSimple    = "65573"  // MDC_MOC_VMS_MDS_SIMP: a PHD's MDS, PhdDevice's type
	mdcMDSAHD       = "531981" // MDC_MOC_VMS_MDS_AHD: an application hosting device, PhgDevice's type
	mdcTimeAbs      = "67975"  // MDC_ATTR_TIME_ABS: the PHD's absolute-time clock, the Coincident Time Stamp's code
	mdcTimeSyncProt = "68220"  // MDC_TIME_SYNC_PROTOCOL: a device property
	mdcTimeSyncNone = "532224" // MDC_TIME_SYNC_NONE: a PHD whose clock its user sets
	mdcTimeSyncNTP  = "532226" // MDC_TIME_SYNC_NTPV4: a PHG kept on NTP time
	mdcContinuaVer  = "532352" // MDC_REG_CERT_DATA_CONTINUA_VERSION
	extGateway      = "http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice"
	mdcBPCompound   = "150020" // MDC_PRESS_BLD_NONINV: the compound of the cuff's pressures
	mdcBodyHeight   = "188740" // MDC_LEN_BODY_ACTUAL
	mdcBMI          = "188752" // MDC_RATIO_MASS_BODY_LEN_SQ
	mdcDimCentiM    = "263441" // MDC_DIM_CENTI_M
	mdcDimKgPerM2   = "264096" // MDC_DIM_KG_PER_M_SQ
)

// specializations are the IEEE 11073-20601 device specializations
// (partition 8, MDC_DEV_SPEC_PROFILE_…) of the personal health devices,
// PhdDevice.specialization; the monitor is a point-of-care device.
var specializations = map[Kind]struct{ code, refid string }{
	PulseOximeter: {"528388", "MDC_DEV_SPEC_PROFILE_PULS_OXIM"},
	BP:            {"528391", "MDC_DEV_SPEC_PROFILE_BP"},
	Scale:         {"528399", "MDC_DEV_SPEC_PROFILE_SCALE"},
	Glucose:       {"528401", "MDC_DEV_SPEC_PROFILE_GLUCOSE"},
}

// PHDKinds are the kinds NextPHD uploads.
var PHDKinds = []Kind{PulseOximeter, BP, Scale, Glucose}

type obj = map[string]any

// SystemID is the device's EUI-64 as the PHD IG writes a system id: eight
// octets in hex joined by dashes.
func (d *Device) SystemID() string {
	var b strings.Builder
	for i := 0; i < len(d.eui); i += 2 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(d.eui[i : i+2])
	}
	return b.String()
}

// NextPHD returns one reading at t as a Personal Health Gateway uploads
// it by the HL7 PHD IG: a FHIR transaction Bundle (JSON) of the PhdDevice,
// the PhdPatient, the gateway itself (PhgDevice), a Coincident Time Stamp
// and an Observation of each measurement by its PHD profile
// (PhdNumericObservation; the cuff's pressures one
// PhdCompoundNumericObservation), coded MDC first and LOINC for the vital
// signs (by the mtu connector's tables), effectiveDateTime with the zone
// of t.
//
// The device's clock is set by its user and runs off the gateway's by a
// drift of the device's seed (see clockDrift); the gateway keeps NTP time,
// so it reads the device's clock (the Coincident Time Stamp: the gateway's
// time as effectiveDateTime, the device's as valueDateTime), moves the
// measurements onto its own timeline (effectiveDateTime t) and names the
// time stamp in each measurement's derivedFrom, and itself in the
// gatewayDevice extension, as the IG's section on coincident time stamps
// says. The Coincident Time Stamp is a plain create, as the IG has it
// (never a duplicate: each upload reads the clock anew); every other entry
// is a conditional create on its identifier (the devices' system ids, the
// patient's identifier, the measurement's device, code and time), so that
// a resent upload creates no measurement twice. The Observations reference
// the devices and the Patient by their entries. A scale also reports the
// height it was set to and the BMI derived from both (Observation.derivedFrom,
// as the IG asks of derived measurements).
func (d *Device) NextPHD(t time.Time) ([]byte, error) {
	spec, ok := specializations[d.cfg.Kind]
	if !ok {
		return nil, fmt.Errorf("a %s is a point-of-care device, not a personal health device: upload one of %s as PHD", d.cfg.Kind, joinPHDKinds())
	}
	readings := d.read(t)
	u := &upload{d: d, t: t}
	u.add("Device", "identifier="+systemSysID+"|"+d.SystemID(), d.phdDevice(spec.code, spec.refid))
	u.add("Patient", "identifier="+d.cfg.Patient.System+"|"+d.cfg.Patient.Value, d.phdPatient())
	u.gateway = u.add("Device", "identifier="+systemSysID+"|"+d.gatewaySystemID(), d.phgDevice())
	u.device, u.patient = u.entries[0]["fullUrl"].(string), u.entries[1]["fullUrl"].(string)
	u.coincident = u.create("Observation", d.coincidentTimeStamp(u))
	var bp []obj
	var weightRef string
	var kg float64
	for i, r := range readings {
		s := d.signals[i].spec
		unit, _, _ := strings.Cut(s.unit, "^")
		v, ok := mtu.LookupMDC(s.mdc, unit)
		if !ok {
			return nil, fmt.Errorf("devicesim: unit %s of %s is not in the mtu connector's units.tsv", unit, s.refid)
		}
		if v.Panel != "" { // a component of the cuff's compound
			bp = append(bp, obj{"code": codeOf(s.mdc, s.refid, v), "valueQuantity": quantity(r.value, v.UCUM)})
			continue
		}
		ref := u.observation(s.mdc, s.refid, v, obj{"valueQuantity": quantity(r.value, v.UCUM)}, nil)
		if s.mdc == weight.mdc {
			weightRef, kg = ref, r.value
		}
	}
	if len(bp) > 0 {
		v, _ := mtu.LookupMDC(sys.mdc, strings.SplitN(sys.unit, "^", 2)[0])
		compound := mtu.Vital{LOINC: v.Panel, Display: v.PanelDisplay}
		u.observation(mdcBPCompound, "MDC_PRESS_BLD_NONINV", compound, obj{"component": bp}, nil)
	}
	if weightRef != "" {
		h, _ := mtu.LookupMDC(mdcBodyHeight, mdcDimCentiM)
		heightRef := u.observation(mdcBodyHeight, "MDC_LEN_BODY_ACTUAL", h, obj{"valueQuantity": quantity(d.heightCM(), h.UCUM)}, nil)
		b, _ := mtu.LookupMDC(mdcBMI, mdcDimKgPerM2)
		bmi := math.Round(kg/math.Pow(d.heightCM()/100, 2)*10) / 10
		u.observation(mdcBMI, "MDC_RATIO_MASS_BODY_LEN_SQ", b, obj{"valueQuantity": quantity(bmi, b.UCUM)}, []string{weightRef, heightRef})
	}
	return json.Marshal(obj{"resourceType": "Bundle", "type": "transaction", "entry": u.entries})
}

func joinPHDKinds() string {
	var s []string
	for _, k := range PHDKinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// heightCM is the height the scale was set to: the patient's, of the
// device's seed.
func (d *Device) heightCM() float64 {
	return float64(155 + d.cfg.Seed%40)
}

// upload gathers a Bundle's entries.
type upload struct {
	d               *Device
	t               time.Time
	entries         []obj
	device, patient string // fullUrls of the PhdDevice and PhdPatient entries
	// gateway and coincident are the fullUrls of the PhgDevice and of the
	// Coincident Time Stamp Observation.
	gateway, coincident string
}

// add appends a conditional create of res; it returns the entry's fullUrl.
func (u *upload) add(typ, criteria string, res obj) string {
	full := fmt.Sprintf("urn:uuid:%s", u.uuid(len(u.entries)))
	q, _ := url.ParseQuery(criteria)
	u.entries = append(u.entries, obj{"fullUrl": full, "resource": res,
		"request": obj{"method": "POST", "url": typ, "ifNoneExist": q.Encode()}})
	return full
}

// create appends a plain create of res; it returns the entry's fullUrl.
func (u *upload) create(typ string, res obj) string {
	full := fmt.Sprintf("urn:uuid:%s", u.uuid(len(u.entries)))
	u.entries = append(u.entries, obj{"fullUrl": full, "resource": res, "request": obj{"method": "POST", "url": typ}})
	return full
}

// uuid is a version-4-shaped UUID of the device, the time and the entry,
// so that an upload made again is the same upload.
func (u *upload) uuid(n int) string {
	h := fnv64(fmt.Sprintf("%s|%d|%d", u.d.eui, u.t.UnixNano(), n))
	l := h*6364136223846793005 + 1442695040888963407
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(h>>32), uint16(h>>16), uint16(h)&0xfff, uint16(l>>48)&0x3fff|0x8000, l&0xffffffffffff)
}

// observation appends a measurement of metric, coded by v, with its value
// (valueQuantity, or component), derived from the entries derivedFrom.
func (u *upload) observation(mdc, refid string, v mtu.Vital, value obj, derivedFrom []string) string {
	profile := "PhdNumericObservation"
	if _, ok := value["component"]; ok {
		profile = "PhdCompoundNumericObservation"
	}
	id := fmt.Sprintf("%s-%s-%s", u.d.eui, mdc, u.t.UTC().Format("20060102T150405.000Z"))
	res := obj{"resourceType": "Observation", "meta": obj{"profile": []string{phdProfile + profile}},
		"identifier": []obj{{"value": id}}, "status": "final", "code": codeOf(mdc, refid, v),
		"subject": obj{"reference": u.patient}, "device": obj{"reference": u.device},
		"effectiveDateTime": u.t.Format("2006-01-02T15:04:05.000Z07:00"),
		"extension":         []obj{gatewayExtension(u.gateway)}}
	if vitalSigns[v.LOINC] {
		res["category"] = []obj{{"coding": []obj{{"system": systemCategory, "code": "vital-signs"}}, "text": "Vital Signs"}}
	}
	for k, x := range value {
		res[k] = x
	}
	for _, ref := range append([]string{u.coincident}, derivedFrom...) {
		res["derivedFrom"] = append(asList(res["derivedFrom"]), obj{"reference": ref})
	}
	return u.add("Observation", "identifier="+id, res)
}

// vitalSigns are the LOINC codes of the FHIR R4 vital-signs profiles the
// simulated devices report: their Observations are in the vital-signs
// category, as the IG asks of a vital sign.
var vitalSigns = map[string]bool{"85354-9": true, "8867-4": true, "2708-6": true, "9279-1": true,
	"8310-5": true, "29463-7": true, "8302-2": true, "39156-5": true}

func asList(v any) []obj {
	l, _ := v.([]obj)
	return l
}

// codeOf is a measurement's code: MDC first, then LOINC when mapped.
func codeOf(mdc, refid string, v mtu.Vital) obj {
	codings := []obj{{"system": systemMDC, "code": mdc, "display": refid}}
	if v.LOINC != "" {
		codings = append(codings, obj{"system": systemLOINC, "code": v.LOINC, "display": v.Display})
	}
	return obj{"coding": codings, "text": refid}
}

func quantity(value float64, ucum string) obj {
	return obj{"value": value, "unit": ucum, "system": systemUCUM, "code": ucum}
}

func (d *Device) phdDevice(spec, specRefID string) obj {
	return obj{"resourceType": "Device", "meta": obj{"profile": []string{phdProfile + "PhdDevice"}},
		"identifier": []obj{{"type": obj{"coding": []obj{{"system": systemDeviceIDs, "code": "SYSID"}}},
			"system": systemSysID, "value": d.SystemID()}},
		"manufacturer": "HP Sandbox", "modelNumber": "DeviceSim " + string(d.cfg.Kind), "serialNumber": d.eui,
		"type": obj{"coding": []obj{{"system": systemMDC, "code": mdcMDSSimple, "display": "MDC_MOC_VMS_MDS_SIMP"}}},
		"specialization": []obj{{"systemType": obj{"coding": []obj{{"system": systemMDC, "code": spec, "display": specRefID}}},
			"version": "1"}},
		"property": []obj{timeSyncProperty(mdcTimeSyncNone, "MDC_TIME_SYNC_NONE")}}
}

// gatewayExtension names the PHG an Observation came through.
func gatewayExtension(gateway string) obj {
	return obj{"url": extGateway, "valueReference": obj{"reference": gateway}}
}

// timeSyncProperty is a device's MDC_TIME_SYNC_PROTOCOL property.
func timeSyncProperty(code, refid string) obj {
	return obj{"type": obj{"coding": []obj{{"system": systemMDC, "code": mdcTimeSyncProt}}, "text": "MDC_TIME_SYNC_PROTOCOL"},
		"valueCode": []obj{{"coding": []obj{{"system": systemMDC, "code": code}}, "text": refid}}}
}

// gatewaySystemID is the EUI-64 of the gateway the device uploads
// through, made from the device's own (one gateway per simulated device).
func (d *Device) gatewaySystemID() string {
	h := fnv64("phg|" + d.eui)
	var b strings.Builder
	for i := 0; i < 8; i++ {
		if i > 0 {
			b.WriteByte('-')
		}
		fmt.Fprintf(&b, "%02X", byte(h>>(56-8*i)))
	}
	return b.String()
}

// clockDrift is how far the device's clock runs from the gateway's: whole
// seconds within ±5 minutes, of the device's identity.
func (d *Device) clockDrift() time.Duration {
	return time.Duration(int64(fnv64("clock|"+d.eui)%601)-300) * time.Second
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// phgDevice is the gateway as a PhgDevice: its system id, the type of an
// application hosting device, the Continua version it is certified to,
// and the time synchronisation it keeps (NTP), which makes it the better
// synchronised of the two.
func (d *Device) phgDevice() obj {
	return obj{"resourceType": "Device", "meta": obj{"profile": []string{phdProfile + "PhgDevice"}},
		"identifier": []obj{{"type": obj{"coding": []obj{{"system": systemDeviceIDs, "code": "SYSID"}}},
			"system": systemSysID, "value": d.gatewaySystemID()}},
		"manufacturer": "HP Sandbox", "modelNumber": "DeviceSim gateway",
		"type": obj{"coding": []obj{{"system": systemMDC, "code": mdcMDSAHD}}, "text": "MDC_MOC_VMS_MDS_AHD"},
		"version": []obj{{"type": obj{"coding": []obj{{"system": systemMDC, "code": mdcContinuaVer}},
			"text": "MDC_REG_CERT_DATA_CONTINUA_VERSION: Continua version"}, "value": "5.0"}},
		"property": []obj{timeSyncProperty(mdcTimeSyncNTP, "MDC_TIME_SYNC_NTPV4")}}
}

// coincidentTimeStamp is the gateway's reading of the device's clock at
// the upload's time: the gateway's time and the device's, which is off by
// the device's drift, both in the zone of the reading.
func (d *Device) coincidentTimeStamp(u *upload) obj {
	return obj{"resourceType": "Observation", "meta": obj{"profile": []string{phdProfile + "PhdCoincidentTimeStampObservation"}},
		"extension": []obj{gatewayExtension(u.gateway)},
		"status":    "final",
		"code":      obj{"coding": []obj{{"system": systemMDC, "code": mdcTimeAbs}}, "text": "MDC_ATTR_TIME_ABS: Absolute time"},
		"subject":   obj{"reference": u.patient}, "device": obj{"reference": u.device},
		"effectiveDateTime": u.t.Format("2006-01-02T15:04:05.000Z07:00"),
		"valueDateTime":     u.t.Add(d.clockDrift()).Format("2006-01-02T15:04:05.000Z07:00")}
}

func (d *Device) phdPatient() obj {
	typ := "MR"
	if d.cfg.Patient.System == systemFNR {
		typ = "NI" // national unique individual identifier (HL7 v2 table 0203)
	}
	return obj{"resourceType": "Patient", "meta": obj{"profile": []string{phdProfile + "PhdPatient"}},
		"identifier": []obj{{"type": obj{"coding": []obj{{"system": systemV20203, "code": typ}}},
			"system": d.cfg.Patient.System, "value": d.cfg.Patient.Value}}}
}
