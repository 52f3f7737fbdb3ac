package conformance

import (
	"fmt"

	"hpsandbox/connectors"
)

// FromConnector adapts a connector's check, which judges one message at a
// time, to the registry: the adapted check reads the verdicts the
// connector's Evidence recorded in the request log when each message
// arrived (the log keeps no bodies), judges every message of the evidence
// that comes with its body (Evidence.Exchanges), and fails when any
// fails.
// Its id and title are the connector's check's own, so that a report and
// the connector's test suite name it alike.
func FromConnector(connector string, c connectors.Check) Check {
	judge := c.Judge
	return Check{
		ID: c.ID, Title: c.Description, Severity: SeverityError, Source: connector,
		Evaluate: func(ev *Evidence) Result {
			var passed, failed []string
			var first string
			for i := range ev.Entries {
				e := &ev.Entries[i]
				if e.Connector != connector {
					continue
				}
				for _, v := range e.Verdicts {
					if v.Check != c.ID {
						continue
					}
					if v.Pass {
						passed = append(passed, Ref(e))
						continue
					}
					if first == "" {
						first = v.Message
						if first == "" {
							first = "the check failed"
						}
					}
					failed = append(failed, Ref(e))
				}
			}
			for _, x := range ev.Exchanges {
				if x.Connector != connector || (ev.Sandbox != "" && x.Sandbox != ev.Sandbox) {
					continue
				}
				res := judge(x)
				switch res.Verdict {
				case connectors.Pass:
					passed = append(passed, exchangeRef(x))
				case connectors.Fail:
					if first == "" {
						first = issueText(res)
					}
					failed = append(failed, exchangeRef(x))
				}
			}
			switch {
			case len(failed) > 0:
				return Result{Status: Fail, Evidence: capRefs(failed),
					Message: fmt.Sprintf("%d of %d messages fail: %s", len(failed), len(failed)+len(passed), first)}
			case len(passed) > 0:
				return Result{Status: Pass, Evidence: capRefs(passed), Message: fmt.Sprintf("%d messages pass", len(passed))}
			}
			return Result{Status: Skip, Message: "no message this check is about"}
		},
	}
}

// AddConnector registers a connector's checks, adapted, and a profile
// "connector-<id>" of them.
func (r *Registry) AddConnector(connector, title string, checks []connectors.Check) error {
	if len(checks) == 0 {
		return nil
	}
	ids := make([]string, len(checks))
	adapted := make([]Check, len(checks))
	for i, c := range checks {
		if c.Judge == nil {
			return fmt.Errorf("conformance: connector %s's check %s has no Judge", connector, c.ID)
		}
		adapted[i], ids[i] = FromConnector(connector, c), c.ID
	}
	if err := r.Add(adapted...); err != nil {
		return err
	}
	return r.AddProfile(Profile{ID: "connector-" + connector, Title: title,
		Description: "The checks the " + connector + " connector applies to each message it takes.", Checks: ids})
}

// exchangeRef names a connector's message in a Result's evidence.
func exchangeRef(x *connectors.Exchange) string {
	if x.RequestID != "" {
		return x.RequestID
	}
	return x.Connector + "@" + x.Start.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// issueText is the first issue of a connector's verdict, in words.
func issueText(res connectors.Result) string {
	if len(res.Issues) == 0 {
		return "the check failed"
	}
	return connectors.IssueText(res.Issues[0])
}
