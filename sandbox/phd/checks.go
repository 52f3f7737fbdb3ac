package phd

import (
	"fmt"
	"unicode/utf8"

	"hpsandbox/connectors"
	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
)

// ProfileID is the conformance profile of the checks.
const ProfileID = "phd-gateway"

// Pages of the guide and of R4 the checks cite.
const (
	citeIG          = "https://hl7.org/fhir/uv/phd/"
	citeTransaction = "https://hl7.org/fhir/R4/http.html#transaction"
	citeDevice      = "https://hl7.org/fhir/uv/phd/StructureDefinition-PhdDevice.html"
	citeObservation = "https://hl7.org/fhir/uv/phd/StructureDefinition-PhdBaseObservation.html"
	citeConditional = "https://hl7.org/fhir/R4/http.html#ccreate"
)

// Checks are the conformance checks of a PHD gateway: each reads the
// verdicts of one rule that the request log kept on the client's uploads
// (Entry.Verdicts, see LogVerdicts).
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

// evaluate judges the recorded verdicts of rule for the run's client: an
// upload's entry in the request log carries a verdict of each rule that
// applied to it.
func evaluate(ev *conformance.Evidence, rule string) conformance.Result {
	var good, bad []string
	first := ""
	for i := range ev.Entries {
		e := &ev.Entries[i]
		if ev.ClientID != "" && e.ClientID != ev.ClientID {
			continue
		}
		for _, v := range e.Verdicts {
			if v.Check != rule {
				continue
			}
			if v.Pass {
				good = append(good, conformance.Ref(e))
				continue
			}
			bad = append(bad, conformance.Ref(e))
			if first == "" {
				first = v.Message
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

// maxVerdictMessage bounds a verdict's message, as the request log keeps
// a connector check's.
const maxVerdictMessage = 300

// LogVerdicts are the verdicts that apply, as the request log keeps them
// on the upload's own entry (requestlog.Entry.Verdicts): one per rule, the
// check id the rule's, failing with the first issue in words (and how
// many more there are).
func LogVerdicts(verdicts []Verdict) []requestlog.Verdict {
	var out []requestlog.Verdict
	for _, v := range verdicts {
		if !v.Applies {
			continue
		}
		lv := requestlog.Verdict{Check: v.Rule, Pass: len(v.Issues) == 0}
		if len(v.Issues) > 0 {
			msg := connectors.IssueText(v.Issues[0])
			if n := len(v.Issues) - 1; n > 0 {
				msg = fmt.Sprintf("%s; and %d more", msg, n)
			}
			lv.Message = cut(msg, maxVerdictMessage)
		}
		out = append(out, lv)
	}
	return out
}

// cut cuts s to at most n bytes at a character boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
