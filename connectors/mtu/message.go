package mtu

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"hpsandbox/connectors/hl7v2"
)

// problem is what is wrong with a message: the acknowledgment it earns
// (AR: not understood or not supported; AE: understood but not processed;
// "" for a warning that does not stop it) and the ERR segment saying so.
type problem struct {
	ack string
	err hl7v2.AckError
}

// problems are a message's problems; the worst decides the ACK.
type problems []problem

func (ps *problems) reject(seg string, seq, field int, code, format string, args ...any) {
	*ps = append(*ps, problem{hl7v2.AR, hl7v2.AckError{Segment: seg, Sequence: seq, Field: field, Code: code,
		Severity: hl7v2.SeverityError, Text: fmt.Sprintf(format, args...)}})
}

func (ps *problems) fail(seg string, seq, field int, code, format string, args ...any) {
	*ps = append(*ps, problem{hl7v2.AE, hl7v2.AckError{Segment: seg, Sequence: seq, Field: field, Code: code,
		Severity: hl7v2.SeverityError, Text: fmt.Sprintf(format, args...)}})
}

func (ps *problems) warn(seg string, seq, field int, code, format string, args ...any) {
	*ps = append(*ps, problem{"", hl7v2.AckError{Segment: seg, Sequence: seq, Field: field, Code: code,
		Severity: hl7v2.SeverityWarning, Text: fmt.Sprintf(format, args...)}})
}

// ack is the acknowledgment code the problems earn.
func (ps problems) ack() string {
	code := hl7v2.AA
	for _, p := range ps {
		switch {
		case p.ack == hl7v2.AR:
			return hl7v2.AR
		case p.ack == hl7v2.AE:
			code = hl7v2.AE
		}
	}
	return code
}

func (ps problems) errs() []hl7v2.AckError {
	out := make([]hl7v2.AckError, len(ps))
	for i, p := range ps {
		out[i] = p.err
	}
	return out
}

// Supported messages: IHE PCD-01 (Communicate PCD Data) and PCD-04 (Report
// Alert), both ORU.
const (
	triggerPCD01 = "R01"
	triggerPCD04 = "R40"
)

// versions are the HL7 v2 versions taken (MSH-12.1).
var versions = []string{"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"}

// header is what the connector reads of MSH.
type header struct {
	Type, Trigger, Structure string
	ControlID                string
	Version                  string
	Sender                   string // MSH-3 and MSH-4 as written, for telling senders apart
}

// kind is the message's type as the request log names it, e.g. ORU^R01.
func (h header) kind() string {
	if h.Type == "" {
		return "HL7v2"
	}
	return h.Type + "^" + h.Trigger
}

// readHeader reads and judges MSH: a message of a type the connector does
// not take, without a control id or of a version it does not speak is
// rejected (AR), as HL7's original acknowledgment mode says.
func readHeader(m *hl7v2.Message, ps *problems) header {
	msh := m.Segment("MSH")
	h := header{
		Type: msh.Get(9, 1), Trigger: msh.Get(9, 2), Structure: msh.Get(9, 3),
		ControlID: msh.Field(10).String(), Version: msh.Get(12, 1),
		Sender: msh.Field(3).Raw() + "|" + msh.Field(4).Raw(),
	}
	switch {
	case h.Type == "":
		ps.reject("MSH", 1, 9, hl7v2.CodeRequiredMissing, "MSH-9 (message type) is empty")
	case h.Type != "ORU":
		ps.reject("MSH", 1, 9, hl7v2.CodeUnsupportedMessage, "message type %s is not taken: send ORU^R01 (IHE PCD-01) or ORU^R40 (IHE PCD-04)", h.Type)
	case h.Trigger != triggerPCD01 && h.Trigger != triggerPCD04:
		ps.reject("MSH", 1, 9, hl7v2.CodeUnsupportedEvent, "event %s is not taken: send ORU^R01 (IHE PCD-01) or ORU^R40 (IHE PCD-04)", h.Trigger)
	}
	if h.ControlID == "" {
		ps.reject("MSH", 1, 10, hl7v2.CodeRequiredMissing, "MSH-10 (message control id) is empty")
	}
	switch p := msh.Get(11, 1); p {
	case "P", "T", "D":
	case "":
		ps.reject("MSH", 1, 11, hl7v2.CodeRequiredMissing, "MSH-11 (processing id) is empty: send P, T or D")
	default:
		ps.reject("MSH", 1, 11, hl7v2.CodeUnsupportedProcID, "processing id %q is not P, T or D", p)
	}
	switch {
	case h.Version == "":
		ps.reject("MSH", 1, 12, hl7v2.CodeRequiredMissing, "MSH-12 (version id) is empty: send 2.6, as IHE PCD-01 does")
	case !slices.Contains(versions, h.Version):
		ps.reject("MSH", 1, 12, hl7v2.CodeUnsupportedVersion, "version %s is not taken: send one of %s", h.Version, strings.Join(versions, ", "))
	}
	return h
}

// parseProblem turns an error of hl7v2.Parse into the rejection it earns.
func parseProblem(err error) problem {
	var pe *hl7v2.ParseError
	code := hl7v2.CodeSegmentSequence
	e := hl7v2.AckError{Code: code, Severity: hl7v2.SeverityError, Text: err.Error()}
	if errors.As(err, &pe) {
		e.Segment, e.Sequence, e.Field = pe.Segment, 1, pe.Field
		if pe.Field > 0 {
			e.Code = hl7v2.CodeDataType
		}
	}
	return problem{hl7v2.AR, e}
}

// order checks the segments' order as far as the connector relies on it:
// PID before the first OBR, an OBR before the first OBX.
func order(m *hl7v2.Message, ps *problems) {
	var pid, obr bool
	for i, s := range m.Segments {
		switch s.Name {
		case "PID":
			if obr {
				ps.reject("PID", 1, 0, hl7v2.CodeSegmentSequence, "PID comes after an OBR: the patient comes first")
				return
			}
			pid = true
		case "OBR":
			obr = true
		case "OBX":
			if !obr {
				ps.reject("OBX", seqOf(m, i), 0, hl7v2.CodeSegmentSequence, "OBX before any OBR: each observation belongs to an order (OBR)")
				return
			}
		}
	}
	if !pid {
		ps.reject("", 0, 0, hl7v2.CodeSegmentSequence, "no PID segment: name the patient the observations are of")
	}
	if !obr {
		ps.reject("", 0, 0, hl7v2.CodeSegmentSequence, "no OBR segment: %s holds at least one OBR with its OBX", "ORU")
	}
}

// seqOf is the 1-based occurrence among segments of its name of segment i.
func seqOf(m *hl7v2.Message, i int) int {
	n := 0
	for j := 0; j <= i && j < len(m.Segments); j++ {
		if m.Segments[j].Name == m.Segments[i].Name {
			n++
		}
	}
	return n
}
