package fhirapi

import (
	"net/http"
	"strings"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// everythingParams are the parameters Patient/[id]/$everything takes, and
// those its own paging links carry.
var everythingParams = map[string]bool{"_since": true, "_type": true, "_count": true,
	"_cursor": true, "_lastUpdated": true, "_format": true, "_pretty": true}

// everything serves GET Patient/[id]/$everything: the Patient and every
// resource in its compartment (the specification's CompartmentDefinition),
// as a paged searchset; _type narrows the types, _since keeps resources
// updated at or after it.
func (a *API) everything(r *request, segs []string) {
	if r.typ != "Patient" || r.id == "" {
		writeError(r.c, outcome.New(http.StatusNotFound, outcome.NotSupported, "$everything is served at Patient/[id]/$everything"))
		return
	}
	if _, err := a.store.Read(r.c.Request.Context(), r.sandbox, "Patient", r.id); err != nil {
		writeError(r.c, storeError(err, "Patient", r.id))
		return
	}
	q := r.c.Request.URL.Query()
	for k := range q {
		if !everythingParams[k] {
			writeError(r.c, outcome.New(http.StatusBadRequest, outcome.NotSupported, "$everything does not take %s", k).At(k))
			return
		}
	}
	if since := q.Get("_since"); since != "" {
		if _, err := parseInstant(since); err != nil {
			writeError(r.c, outcome.New(http.StatusBadRequest, outcome.Value, "_since: %v", err).At("_since"))
			return
		}
		q.Del("_since")
		q.Add("_lastUpdated", "ge"+since)
	}
	if q.Get("_type") == "" {
		q.Set("_type", strings.Join(compartmentTypes(), ","))
	} else {
		for _, t := range strings.Split(q.Get("_type"), ",") {
			if !fhirjson.IsType(t) || (t != "Patient" && len(searchparam.PatientCompartment(t)) == 0) {
				writeError(r.c, outcome.New(http.StatusBadRequest, outcome.Value,
					"_type: %q is not in the Patient compartment", t).At("_type"))
				return
			}
		}
	}
	r.c.Request.URL.RawQuery = q.Encode()
	a.runSearch(r, "", &search.Compartment{Type: "Patient", ID: r.id}, "/"+strings.Join(segs, "/"))
}

// compartmentTypes are Patient and the types in a Patient's compartment.
func compartmentTypes() []string {
	out := []string{"Patient"}
	for _, t := range fhirjson.Types() {
		if t != "Patient" && len(searchparam.PatientCompartment(t)) > 0 {
			out = append(out, t)
		}
	}
	return out
}
