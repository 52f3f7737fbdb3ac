package example

import (
	"encoding/json"
	"net/http"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore/outcome"
)

// Checks implements connectors.CheckConnector.
func (c *Connector) Checks() []connectors.Check {
	return []connectors.Check{
		{ID: "example-observation-loinc", Description: "An Observation sent to the example connector is coded with LOINC (Observation.code.coding.system http://loinc.org).",
			Judge: judgeLOINC},
		{ID: "example-observation-subject", Description: "An Observation sent to the example connector names its patient (Observation.subject.reference).",
			Judge: judgeSubject},
	}
}

// observation is what the checks read of an accepted Observation.
type observation struct {
	ResourceType string `json:"resourceType"`
	Code         struct {
		Coding []struct {
			System string `json:"system"`
		} `json:"coding"`
	} `json:"code"`
	Subject struct {
		Reference string `json:"reference"`
	} `json:"subject"`
}

// accepted returns the Observation of an exchange the connector accepted,
// and false for any other exchange, which the checks are not about.
func accepted(x *connectors.Exchange) (observation, bool) {
	var o observation
	if x.Connector != ID || x.Status != http.StatusCreated || json.Unmarshal(x.Request, &o) != nil || o.ResourceType != "Observation" {
		return o, false
	}
	return o, true
}

func judgeLOINC(x *connectors.Exchange) connectors.Result {
	o, ok := accepted(x)
	if !ok {
		return connectors.Result{Verdict: connectors.NotApplicable}
	}
	for _, c := range o.Code.Coding {
		if c.System == "http://loinc.org" {
			return connectors.Result{Verdict: connectors.Pass}
		}
	}
	return connectors.Result{Verdict: connectors.Fail, Issues: []outcome.Issue{{Severity: outcome.ErrorLevel, Code: outcome.Value,
		Diagnostics: "no coding of Observation.code is from LOINC", Expression: []string{"Observation.code.coding"}}}}
}

func judgeSubject(x *connectors.Exchange) connectors.Result {
	o, ok := accepted(x)
	if !ok {
		return connectors.Result{Verdict: connectors.NotApplicable}
	}
	if o.Subject.Reference == "" {
		return connectors.Result{Verdict: connectors.Fail, Issues: []outcome.Issue{{Severity: outcome.ErrorLevel, Code: outcome.Required,
			Diagnostics: "the Observation names no patient", Expression: []string{"Observation.subject"}}}}
	}
	return connectors.Result{Verdict: connectors.Pass}
}
