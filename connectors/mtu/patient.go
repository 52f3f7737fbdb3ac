package mtu

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"hpsandbox/connectors/hl7v2"
	"hpsandbox/fhirstore"
)

// Norwegian person identifier systems (HL7 Norway no-basis), which PID-3
// names by OID (…&2.16.578.1.12.4.1.4.1&ISO) or by namespace.
const (
	systemFNR = "urn:oid:2.16.578.1.12.4.1.4.1"
	systemDNR = "urn:oid:2.16.578.1.12.4.1.4.2"
)

// namespaces are assigning-authority namespaces (PID-3.4.1) and
// identifier types (PID-3.5) that name a Norwegian identifier system.
var namespaces = map[string]string{
	"FNR": systemFNR, "NNNOR": systemFNR, "DNR": systemDNR,
}

// pidIdentifier is one repetition of PID-3 (CX) read as a FHIR
// identifier: system "" when its assigning authority names none the
// connector knows.
type pidIdentifier struct {
	System, Value string
}

func pidIdentifiers(pid *hl7v2.Segment) []pidIdentifier {
	var out []pidIdentifier
	for _, rep := range pid.Field(3).Reps() {
		id := pidIdentifier{Value: rep.Comp(1).String()}
		if id.Value == "" {
			continue
		}
		auth := rep.Comp(4)
		switch uid := auth.Sub(2).String(); {
		case uid != "" && strings.EqualFold(auth.Sub(3).String(), "ISO"):
			id.System = "urn:oid:" + uid
		case namespaces[strings.ToUpper(auth.Sub(1).String())] != "":
			id.System = namespaces[strings.ToUpper(auth.Sub(1).String())]
		case namespaces[strings.ToUpper(rep.Comp(5).String())] != "":
			id.System = namespaces[strings.ToUpper(rep.Comp(5).String())]
		}
		out = append(out, id)
	}
	return out
}

// findPatient looks up the patient PID-3 names in the sandbox: the first
// identifier, in PID-3's order, that matches exactly one Patient. It
// returns the reference, or notes why there is none.
func (c *Connector) findPatient(ctx context.Context, sandbox string, pid *hl7v2.Segment, ps *problems) (ref string, ids []pidIdentifier) {
	ids = pidIdentifiers(pid)
	if len(ids) == 0 {
		ps.fail("PID", 1, 3, hl7v2.CodeRequiredMissing, "PID-3 (patient identifier list) names no identifier")
		return "", nil
	}
	if ref := c.knownPatient(ctx, sandbox, ids); ref != "" {
		return ref, ids
	}
	var tried []string
	for _, id := range ids {
		token := id.Value
		if id.System != "" {
			token = id.System + "|" + id.Value
		}
		tried = append(tried, token)
		page, err := c.engine.Search(ctx, fhirstore.Sandbox(sandbox), "Patient",
			url.Values{"identifier": {token}, "_count": {"2"}})
		if err != nil {
			ps.fail("PID", 1, 3, hl7v2.CodeInternal, "looking up the patient failed")
			c.log.Error("mtu: patient search failed", "err", err)
			return "", ids
		}
		switch len(page.Matches) {
		case 1:
			c.learnPatient(sandbox, ids, knownPatient{id: page.Matches[0].ID, system: id.System, value: id.Value})
			return "Patient/" + page.Matches[0].ID, ids
		case 2:
			ps.fail("PID", 1, 3, hl7v2.CodeUnknownKey, "identifier %s matches several patients in the sandbox; name the patient with its assigning authority", token)
			return "", ids
		}
	}
	if !c.cfg.RegisterPatients {
		ps.fail("PID", 1, 3, hl7v2.CodeUnknownKey, "no patient of the sandbox has identifier %s", strings.Join(tried, " or "))
	}
	return "", ids
}

// knownPatient is the Patient a PID-3 found before, by one of its
// identifiers.
type knownPatient struct {
	id            string
	system, value string
}

// patientKey is PID-3's identifiers, in order, as a key.
func patientKey(ids []pidIdentifier) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(id.System)
		b.WriteByte('|')
		b.WriteString(id.Value)
		b.WriteByte(0)
	}
	return b.String()
}

// knownPatient is the Patient/id the same PID-3 found in sandbox before,
// read again (by id, which costs less than the search) to see that it is
// still there and still has the identifier that found it: one deleted
// since, changed, or gone with its sandbox's data is searched for again.
func (c *Connector) knownPatient(ctx context.Context, sandbox string, ids []pidIdentifier) string {
	key := patientKey(ids)
	c.mu.Lock()
	p, ok := c.patients[sandbox][key]
	c.mu.Unlock()
	if !ok {
		return ""
	}
	r, err := c.engine.Read(ctx, fhirstore.Sandbox(sandbox), "Patient", p.id)
	if err == nil && hasIdentifier(r.Body, p.system, p.value) {
		return "Patient/" + p.id
	}
	c.mu.Lock()
	delete(c.patients[sandbox], key)
	c.mu.Unlock()
	return ""
}

// hasIdentifier reports whether a Patient's body has the identifier.
func hasIdentifier(body []byte, system, value string) bool {
	var p struct {
		Identifier []struct{ System, Value string } `json:"identifier"`
	}
	if json.Unmarshal(body, &p) != nil {
		return false
	}
	for _, id := range p.Identifier {
		if id.Value == value && (system == "" || id.System == system) {
			return true
		}
	}
	return false
}

// learnPatient notes the Patient PID-3's identifiers found in sandbox.
func (c *Connector) learnPatient(sandbox string, ids []pidIdentifier, p knownPatient) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.patients[sandbox] == nil {
		if len(c.patients) >= devicesMax {
			clear(c.patients)
		}
		c.patients[sandbox] = map[string]knownPatient{}
	}
	if len(c.patients[sandbox]) >= devicesMax {
		clear(c.patients[sandbox])
	}
	c.patients[sandbox][patientKey(ids)] = p
}

// newPatient is the Patient registered for an unknown PID, when the
// connector is configured to: its identifiers, name, birth date and sex.
func newPatient(pid *hl7v2.Segment, ids []pidIdentifier) (obj, string) {
	var idents []obj
	query := ""
	for _, id := range ids {
		ident := obj{"value": id.Value}
		token := id.Value
		if id.System != "" {
			ident["system"] = id.System
			token = id.System + "|" + id.Value
		}
		if query == "" {
			query = "identifier=" + token
		}
		idents = append(idents, ident)
	}
	p := obj{"resourceType": "Patient", "identifier": idents}
	name := obj{}
	if family := pid.Field(5).Comp(1).String(); family != "" {
		name["family"] = family
	}
	if given := pid.Field(5).Comp(2).String(); given != "" {
		name["given"] = []string{given}
	}
	if len(name) > 0 {
		p["name"] = []obj{name}
	}
	if dob := pid.Get(7, 1); len(dob) >= 8 {
		if ts, err := hl7v2.ParseTS(dob[:8], nil); err == nil {
			p["birthDate"] = ts.Time.Format("2006-01-02")
		}
	}
	if g, ok := map[string]string{"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other"}[pid.Get(8, 1)]; ok {
		p["gender"] = g
	}
	return p, query
}
