package phd

import (
	"fmt"
	"net/http"
	"time"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
)

// Where verdicts are recorded and what reads them.
const (
	// Connector names the judge in the request log's entries of verdicts.
	Connector = "phd"
	// verdictKind is the Method of a verdict's entry; its Path is the rule.
	verdictKind = "PHD"
	// ProfileID is the conformance profile of the checks.
	ProfileID = "phd-gateway"
)

// Pages of the guide and of R4 the checks cite.
const (
	citeIG          = "https://hl7.org/fhir/uv/phd/"
	citeTransaction = "https://hl7.org/fhir/R4/http.html#transaction"
	citeDevice      = "https://hl7.org/fhir/uv/phd/StructureDefinition-PhdDevice.html"
	citeObservation = "https://hl7.org/fhir/uv/phd/StructureDefinition-PhdBaseObservation.html"
	citeConditional = "https://hl7.org/fhir/R4/http.html#ccreate"
)

// Checks are the conformance checks of a PHD gateway: each reads the
// verdicts of one rule that Record kept for the client's uploads.
func Checks() []conformance.Check {
	check := func(rule, title, cite string, sev conformance.Severity) conformance.Check {
		return conformance.Check{ID: rule, Title: title, Cite: cite, Severity: sev,
			Evaluate: func(ev *conformance.Evidence) conformance.Result { return evaluate(ev, rule) }}
	}
	return []conformance.Check{
		check(RuleTransaction, "Uploads are transaction Bundles", citeTransaction, conformance.SeverityError),
		check(RuleProfiles, "Devices, patients and observations conform to the PHD profiles", citeIG, conformance.SeverityError),
		check(RuleDeviceIdentity, "Each device carries its IEEE EUI-64 system id", citeDevice, conformance.SeverityError),
		check(RuleDeviceReference, "Each observation references its device and its patient", citeObservation, conformance.SeverityError),
		check(RuleEffectiveTimeZone, "Each observation's time has a zone", citeObservation, conformance.SeverityError),
		check(RuleRelated, "derivedFrom and hasMember name observations the upload holds or the server has", citeObservation, conformance.SeverityError),
		check(RuleConditionalCreate, "Resources are created conditionally, so that a resend makes no duplicates", citeConditional, conformance.SeverityWarning),
	}
}

// Profile is the conformance profile "PHD gateway".
func Profile() conformance.Profile {
	ids := make([]string, len(Rules))
	copy(ids, Rules)
	return conformance.Profile{ID: ProfileID, Title: "PHD gateway",
		Description: "A Personal Health Gateway uploading device data through the FHIR API by the HL7 PHD implementation guide.",
		Checks:      ids}
}

// evaluate judges the recorded verdicts of rule for the run's client.
func evaluate(ev *conformance.Evidence, rule string) conformance.Result {
	var good, bad []string
	first := ""
	for i := range ev.Entries {
		e := &ev.Entries[i]
		if e.Connector != Connector || e.Method != verdictKind || e.Path != rule ||
			ev.ClientID != "" && e.ClientID != ev.ClientID {
			continue
		}
		if e.Status < 400 {
			good = append(good, conformance.Ref(e))
			continue
		}
		bad = append(bad, conformance.Ref(e))
		if first == "" && len(e.Issues) > 0 {
			first = e.Issues[0].Diagnostics
			if e.Issues[0].Expression != "" {
				first += " (" + e.Issues[0].Expression + ")"
			}
		}
	}
	capped := func(s []string) []string { return s[:min(len(s), conformance.MaxEvidence)] }
	switch {
	case len(bad) > 0:
		return conformance.Result{Status: conformance.Fail, Evidence: capped(bad),
			Message: fmt.Sprintf("%d of %d uploads break the rule: %s", len(bad), len(bad)+len(good), first)}
	case len(good) > 0:
		return conformance.Result{Status: conformance.Pass, Evidence: capped(good),
			Message: fmt.Sprintf("all %d uploads keep the rule", len(good))}
	}
	return conformance.Result{Status: conformance.Skip, Message: "no PHD upload this rule is about"}
}

// Recorder keeps request log entries (the request log's writer).
type Recorder interface{ Record(e requestlog.Entry) }

// Upload is what the record says of the upload judged.
type Upload struct {
	Sandbox, ClientID, Scopes, RequestID string
	Time                                 time.Time
}

// Record keeps one request log entry per verdict that applies: Method
// "PHD", Path the rule, Status 200 when it holds and 422 with its issues
// when not, under the upload's request id and client.
func Record(rec Recorder, up Upload, verdicts []Verdict) {
	for _, v := range verdicts {
		if !v.Applies {
			continue
		}
		e := requestlog.Entry{Sandbox: up.Sandbox, Time: up.Time, ClientID: up.ClientID, Scopes: up.Scopes,
			RequestID: up.RequestID, Connector: Connector, Channel: requestlog.ChannelHTTP,
			Method: verdictKind, Path: v.Rule, Status: http.StatusOK}
		if len(v.Issues) > 0 {
			e.Status = http.StatusUnprocessableEntity
			for _, is := range v.Issues {
				e.Issues = append(e.Issues, logIssue(is))
			}
		}
		rec.Record(e)
	}
}

func logIssue(is outcome.Issue) requestlog.Issue {
	li := requestlog.Issue{Severity: string(is.Severity), Code: string(is.Code), Diagnostics: is.Diagnostics}
	if len(is.Expression) > 0 {
		li.Expression = is.Expression[0]
	}
	return li
}
