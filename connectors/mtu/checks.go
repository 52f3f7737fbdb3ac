package mtu

import (
	"fmt"
	"strings"
	"sync"

	"hpsandbox/connectors"
	"hpsandbox/connectors/hl7v2"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/requestlog"
)

// appCodePipelined is the ERR-5 application error code of a message sent
// before the ACK of the one before it on the same connection.
const appCodePipelined = "HPS-PIPELINED"

// Checks implements connectors.CheckConnector: IHE PCD-01/PCD-04
// conformance of each message, judged from the message and its ACK.
func (c *Connector) Checks() []connectors.Check {
	out := make([]connectors.Check, len(checks))
	for i, ch := range checks {
		judge := ch.judge
		out[i] = connectors.Check{ID: ch.id, Description: ch.description, Judge: func(x *connectors.Exchange) connectors.Result {
			j, ok := c.about(x)
			if !ok {
				return notApplicable
			}
			return judge(j)
		}}
	}
	return out
}

// check is one of the connector's checks, judging a parsed exchange.
type check struct {
	id, description string
	judge           func(j judged) connectors.Result
}

// checks are the connector's checks; the table is filled in init, as the
// judges refer to it through findings.
var checks []check

func init() {
	checks = []check{
		{id: "mtu-msh-header", judge: judgeHeader,
			description: "MSH-9 is ORU^R01^ORU_R01 (or ORU^R40^ORU_R40), MSH-10 holds a control id, MSH-11 is a processing id of table 0103 and MSH-12 is version 2.6, as IHE PCD-01 says."},
		{id: "mtu-control-id-unique", judge: judgeControlID,
			description: "Each message carries a message control id (MSH-10) the sender has not used before."},
		{id: "mtu-pid-assigning-authority", judge: judgeAssigningAuthority,
			description: "Every patient identifier in PID-3 names its assigning authority (PID-3.4), e.g. &2.16.578.1.12.4.1.4.1&ISO for a Norwegian national identity number."},
		{id: "mtu-obx-value-type", judge: judgeValueType,
			description: "Every OBX with a value has a value type (OBX-2) of table 0125 that its value (OBX-5) is written in."},
		{id: "mtu-obx-units", judge: judgeUnits,
			description: "Every numeric OBX names its unit (OBX-6) in MDC or UCUM."},
		{id: "mtu-obx-timestamp", judge: judgeTimestamp,
			description: "Every OBX with a value is timed (OBX-14) to the second, with its zone offset."},
		{id: "mtu-obx-equipment", judge: judgeEquipment,
			description: "Every OBX with a value names the device that measured it (OBX-18) by its EUI-64."},
		{id: "mtu-obx-codes", judge: judgeCodes,
			description: "OBX-11 is a result status of table 0085 and every abnormal flag in OBX-8 is of table 0078."},
		{id: "mtu-ack-mode", judge: judgeAckMode,
			description: "The message asks for the acknowledgments IHE PCD-01 uses: accept acknowledgment AL (MSH-15) and application acknowledgment NE (MSH-16)."},
		{id: "mtu-ack-awaited", judge: judgeAckAwaited,
			description: "The sender waits for each message's ACK before it sends the next on the connection."},
		{id: "mtu-accepted", judge: judgeAccepted,
			description: "The message is accepted (MSA-1 AA): its patient is known and every value could be stored."},
	}
}

// judged is an exchange a check is about: an HL7 v2 message the
// connector took over MLLP, parsed, and its ACK.
type judged struct {
	msg *hl7v2.Message
	ack *hl7v2.Message // nil when the answer was not an ACK
	x   *connectors.Exchange
}

// about is the exchange x as the checks judge it, when it is one of
// theirs. The exchange being recorded (see record) is judged from the
// message the connector parsed and its ACK parsed once; any other is
// parsed here.
func (c *Connector) about(x *connectors.Exchange) (judged, bool) {
	if x == nil || x.Connector != ID || x.Channel != requestlog.ChannelMLLP || len(x.Request) == 0 {
		return judged{}, false
	}
	if r, ok := c.recording.Load(x); ok {
		return r.(*recorded).judged()
	}
	return about(x)
}

func about(x *connectors.Exchange) (judged, bool) {
	m, err := hl7v2.Parse(x.Request)
	if err != nil {
		return judged{}, false
	}
	return judgedOf(x, m)
}

// judgedOf is x judged with m, the message of its Request.
func judgedOf(x *connectors.Exchange, m *hl7v2.Message) (judged, bool) {
	if m.Segment("MSH").Get(9, 1) != "ORU" {
		return judged{}, false
	}
	j := judged{msg: m, x: x}
	if ack, err := hl7v2.Parse(x.Response); err == nil && ack.Segment("MSA") != nil {
		j.ack = ack
	}
	return j, true
}

// recorded is an exchange being recorded with the message its Request
// parsed to (nil when it did not parse): the Evidence judges it by every
// check in turn, and they share one reading of it.
type recorded struct {
	x    *connectors.Exchange
	msg  *hl7v2.Message
	once sync.Once
	j    judged
	ok   bool
}

func (r *recorded) judged() (judged, bool) {
	r.once.Do(func() {
		if r.msg != nil {
			r.j, r.ok = judgedOf(r.x, r.msg)
		}
	})
	return r.j, r.ok
}

// record records x, whose Request parsed to m (nil when it did not): the
// checks the Evidence judges it with read m rather than parse the
// message, and the ACK, again each.
func (c *Connector) record(x *connectors.Exchange, m *hl7v2.Message) {
	c.recording.Store(x, &recorded{x: x, msg: m})
	defer c.recording.Delete(x)
	c.ev.Record(x)
}

var notApplicable = connectors.Result{Verdict: connectors.NotApplicable}

// verdict passes without issues and fails with them.
func verdict(issues []outcome.Issue) connectors.Result {
	if len(issues) == 0 {
		return connectors.Result{Verdict: connectors.Pass}
	}
	return connectors.Result{Verdict: connectors.Fail, Issues: issues}
}

func issue(code outcome.Code, at string, format string, args ...any) outcome.Issue {
	return outcome.Issue{Severity: outcome.ErrorLevel, Code: code, Diagnostics: fmt.Sprintf(format, args...), Expression: []string{at}}
}

func judgeHeader(j judged) connectors.Result {
	msh := j.msg.Segment("MSH")
	var is []outcome.Issue
	trigger := msh.Get(9, 2)
	want := map[string]string{triggerPCD01: "ORU_R01", triggerPCD04: "ORU_R40"}[trigger]
	switch {
	case want == "":
		is = append(is, issue(outcome.NotSupported, "MSH-9", "MSH-9 %s is not ORU^R01 or ORU^R40", msh.Field(9).Raw()))
	case msh.Get(9, 3) != want:
		is = append(is, issue(outcome.Value, "MSH-9.3", "MSH-9.3 (message structure) is %q, want %s", msh.Get(9, 3), want))
	}
	if msh.Field(10).Empty() {
		is = append(is, issue(outcome.Required, "MSH-10", "MSH-10 (message control id) is empty"))
	}
	if p := msh.Get(11, 1); !inTable("0103", p) {
		is = append(is, issue(outcome.Value, "MSH-11", "MSH-11 %q is not a processing id of HL7 table 0103", p))
	}
	switch v := msh.Get(12, 1); {
	case !inTable("0104", v):
		is = append(is, issue(outcome.Value, "MSH-12", "MSH-12 %q is not a version of HL7 table 0104", v))
	case v != "2.6":
		is = append(is, issue(outcome.Value, "MSH-12", "MSH-12 is %s: IHE PCD-01 messages are HL7 v2.6", v))
	}
	return verdict(is)
}

func judgeControlID(j judged) connectors.Result {
	if j.ack == nil {
		return notApplicable
	}
	if j.msg.Segment("MSH").Field(10).Empty() {
		return verdict([]outcome.Issue{issue(outcome.Required, "MSH-10", "the message has no control id")})
	}
	for _, s := range j.ack.Segments {
		if s.Name == "ERR" && s.Get(3, 1) == hl7v2.CodeDuplicateKey {
			return verdict([]outcome.Issue{issue(outcome.Duplicate, "MSH-10", "control id %s was used before by this sender", j.msg.Segment("MSH").Field(10).String())})
		}
	}
	return verdict(nil)
}

func judgeAssigningAuthority(j judged) connectors.Result {
	pid := j.msg.Segment("PID")
	if pid == nil || pid.Field(3).Empty() {
		return verdict([]outcome.Issue{issue(outcome.Required, "PID-3", "the message names no patient identifier (PID-3)")})
	}
	var is []outcome.Issue
	for i, rep := range pid.Field(3).Reps() {
		if auth := rep.Comp(4); auth.Sub(1).Empty() && auth.Sub(2).Empty() {
			is = append(is, issue(outcome.Required, fmt.Sprintf("PID-3[%d].4", i+1), "identifier %s names no assigning authority", rep.Comp(1).String()))
		}
	}
	return verdict(is)
}

// obxRows are the OBX segments with a value, and their occurrence.
func obxRows(m *hl7v2.Message, fn func(seq int, s *hl7v2.Segment)) {
	seq := 0
	for i := range m.Segments {
		if s := &m.Segments[i]; s.Name == "OBX" {
			seq++
			if !s.Field(5).Empty() || !s.Field(2).Empty() {
				fn(seq, s)
			}
		}
	}
}

func at(seq, field int) string { return fmt.Sprintf("OBX[%d]-%d", seq, field) }

func judgeValueType(j judged) connectors.Result {
	var is []outcome.Issue
	obxRows(j.msg, func(seq int, s *hl7v2.Segment) {
		vt, v := s.Get(2, 1), s.Field(5)
		if !inTable("0125", vt) {
			is = append(is, issue(outcome.Value, at(seq, 2), "OBX-2 %q is not a value type of HL7 table 0125", vt))
			return
		}
		if v.Empty() {
			return // no value, as for a result that could not be obtained
		}
		var bad bool
		switch vt {
		case "NM":
			_, ok := fhirNumber(v.String())
			bad = !ok
		case "DTM", "TS":
			_, err := hl7v2.ParseTS(v.Comp(1).String(), nil)
			bad = err != nil
		case "CWE", "CE", "CNE":
			bad = v.Comp(1).Empty() && v.Comp(2).Empty()
		case "SN":
			_, ok := fhirNumber(v.Comp(2).String())
			bad = !ok
		}
		if bad {
			is = append(is, issue(outcome.Value, at(seq, 5), "OBX-5 %q is not a value of type %s (OBX-2)", v.Raw(), vt))
		}
	})
	return verdict(is)
}

func judgeUnits(j judged) connectors.Result {
	var is []outcome.Issue
	obxRows(j.msg, func(seq int, s *hl7v2.Segment) {
		if s.Get(2, 1) != "NM" {
			return
		}
		u := readUnit(s.Field(6).Comp(1).String(), s.Field(6).Comp(2).String(), s.Field(6).Comp(3).String())
		switch {
		case !u.Written:
			is = append(is, issue(outcome.Required, at(seq, 6), "the numeric value has no unit (OBX-6)"))
		case !u.Known:
			is = append(is, issue(outcome.Value, at(seq, 6), "unit %s is not an MDC unit the sandbox knows nor UCUM (write …^MDC or …^UCUM in OBX-6.3)", s.Field(6).Raw()))
		}
	})
	return verdict(is)
}

func judgeTimestamp(j judged) connectors.Result {
	var is []outcome.Issue
	obxRows(j.msg, func(seq int, s *hl7v2.Segment) {
		if s.Field(5).Empty() {
			return
		}
		v := s.Get(14, 1)
		ts, err := hl7v2.ParseTS(v, nil)
		switch {
		case v == "":
			is = append(is, issue(outcome.Required, at(seq, 14), "the observation is not timed (OBX-14)"))
		case err != nil:
			is = append(is, issue(outcome.Value, at(seq, 14), "OBX-14: %v", err))
		case ts.Digits < 14 || !ts.Zone:
			is = append(is, issue(outcome.Value, at(seq, 14), "OBX-14 %s: write YYYYMMDDHHMMSS and the zone offset (+ZZZZ)", v))
		}
	})
	return verdict(is)
}

func judgeEquipment(j judged) connectors.Result {
	var is []outcome.Issue
	obxRows(j.msg, func(seq int, s *hl7v2.Segment) {
		if s.Field(5).Empty() {
			return
		}
		ei := s.Field(18)
		switch {
		case ei.Empty():
			is = append(is, issue(outcome.Required, at(seq, 18), "OBX-18 (equipment instance identifier) is empty"))
		case !isEUI64(ei.Comp(1).String(), "") || !strings.EqualFold(ei.Comp(4).String(), "EUI-64"):
			is = append(is, issue(outcome.Value, at(seq, 18), "OBX-18 %s: write the device's EUI-64 as 16 hexadecimal digits^^^EUI-64", ei.Raw()))
		}
	})
	return verdict(is)
}

func judgeCodes(j judged) connectors.Result {
	var is []outcome.Issue
	obxRows(j.msg, func(seq int, s *hl7v2.Segment) {
		if st := s.Get(11, 1); !inTable("0085", st) {
			is = append(is, issue(outcome.Value, at(seq, 11), "OBX-11 %q is not a result status of HL7 table 0085", st))
		}
		for _, rep := range s.Field(8).Reps() {
			if f := rep.Comp(1).String(); f != "" && !inTable("0078", f) {
				is = append(is, issue(outcome.Value, at(seq, 8), "OBX-8 %q is not an abnormal flag of HL7 table 0078", f))
			}
		}
	})
	return verdict(is)
}

func judgeAckMode(j judged) connectors.Result {
	msh := j.msg.Segment("MSH")
	var is []outcome.Issue
	for _, f := range []struct {
		field      int
		name, want string
	}{{15, "accept acknowledgment type", "AL"}, {16, "application acknowledgment type", "NE"}} {
		at := fmt.Sprintf("MSH-%d", f.field)
		switch v := msh.Get(f.field, 1); {
		case v == f.want:
		case v != "" && !inTable("0155", v):
			is = append(is, issue(outcome.Value, at, "%s (%s) %q is not a condition of HL7 table 0155; IHE PCD-01 wants %s", at, f.name, v, f.want))
		default:
			is = append(is, issue(outcome.Value, at, "%s (%s) is %q; IHE PCD-01 wants %s", at, f.name, v, f.want))
		}
	}
	return verdict(is)
}

func judgeAckAwaited(j judged) connectors.Result {
	if j.ack == nil {
		return notApplicable
	}
	for _, s := range j.ack.Segments {
		if s.Name == "ERR" && s.Get(5, 1) == appCodePipelined {
			return verdict([]outcome.Issue{issue(outcome.BusinessRule, "MSH-10",
				"message %s was sent before the ACK of the message before it: wait for each ACK, and resend on AE or a timeout", j.msg.Segment("MSH").Field(10).String())})
		}
	}
	return verdict(nil)
}

func judgeAccepted(j judged) connectors.Result {
	if j.ack == nil {
		return notApplicable
	}
	msa := j.ack.Segment("MSA")
	if code := msa.Get(1, 1); code == hl7v2.AA || code == "CA" {
		return verdict(nil)
	}
	var is []outcome.Issue
	for _, s := range j.ack.Segments {
		if s.Name == "ERR" && s.Get(4, 1) != hl7v2.SeverityWarning && s.Get(4, 1) != hl7v2.SeverityInfo {
			is = append(is, issue(outcome.Processing, s.Field(2).Raw(), "%s (%s)", s.Field(8).String(), s.Get(3, 2)))
		}
	}
	if len(is) == 0 {
		is = append(is, issue(outcome.Processing, "MSA-1", "the message was answered %s", msa.Get(1, 1)))
	}
	return verdict(is)
}

// findings are the checks a message fails, as warnings for its ACK and
// the request log: the sender learns at once what the conformance report
// will say of the message. ps are the message's problems so far, from
// which the ACK the checks read follows. Checks that restate the ACK
// (mtu-accepted) are left out.
func (c *Connector) findings(x *connectors.Exchange, m *hl7v2.Message, ps problems) problems {
	if m == nil {
		return nil
	}
	if m.Segment("MSH").Get(9, 1) != "ORU" {
		return nil
	}
	j := judged{msg: m, x: x, ack: hl7v2.Ack(m, ps.ack(), "", c.now(), ps.errs())}
	var out problems
	for _, ch := range checks {
		if ch.id == "mtu-accepted" {
			continue
		}
		res := ch.judge(j)
		if res.Verdict != connectors.Fail {
			continue
		}
		for _, is := range res.Issues {
			e := hl7v2.AckError{Code: errCodeOf(is.Code), Severity: hl7v2.SeverityWarning, AppCode: ch.id, Text: is.Diagnostics}
			if len(is.Expression) > 0 {
				e.Segment, e.Sequence, e.Field = location(is.Expression[0])
			}
			out = append(out, problem{"", e})
		}
	}
	return out
}

// errCodeOf is the table 0357 code of an issue's kind.
func errCodeOf(code outcome.Code) string {
	switch code {
	case outcome.Required:
		return hl7v2.CodeRequiredMissing
	case outcome.Duplicate:
		return hl7v2.CodeDuplicateKey
	case outcome.NotSupported:
		return hl7v2.CodeUnsupportedMessage
	}
	return hl7v2.CodeDataType
}

// location reads the checks' expressions, "MSH-12", "OBX[3]-14" or
// "PID-3[1].4", as an ERR-2 location.
func location(expr string) (seg string, seq, field int) {
	if len(expr) < 3 {
		return "", 0, 0
	}
	seg, rest, seq := expr[:3], expr[3:], 1
	if strings.HasPrefix(rest, "[") {
		if _, err := fmt.Sscanf(rest, "[%d]-%d", &seq, &field); err != nil {
			return seg, seq, 0
		}
		return seg, seq, field
	}
	_, _ = fmt.Sscanf(rest, "-%d", &field)
	return seg, seq, field
}
