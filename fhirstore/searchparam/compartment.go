package searchparam

import (
	"slices"
	"strings"
)

// CompartmentPatients returns the ids of the Patients whose compartment
// holds the resource typ/id with index idx: the Patient itself, and every
// Patient that one of the type's compartment parameters (PatientCompartment)
// references. Absolute references count only when they start with base (this
// server's FHIR base, without a trailing slash); pass "" to count none.
func CompartmentPatients(typ, id string, idx *Index, base string) []string {
	var out []string
	if typ == "Patient" && id != "" {
		out = append(out, id)
	}
	params := patientCompartment[typ]
	if len(params) == 0 || idx == nil {
		return out
	}
	for _, r := range idx.References {
		if r.TargetType != "Patient" || r.TargetID == "" || !slices.Contains(params, r.Param) {
			continue
		}
		if r.URL != "" && (base == "" || !strings.HasPrefix(r.URL, base+"/")) {
			continue
		}
		if !slices.Contains(out, r.TargetID) {
			out = append(out, r.TargetID)
		}
	}
	return out
}
