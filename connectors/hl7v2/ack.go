package hl7v2

import (
	"strconv"
	"time"
)

// Acknowledgment codes of MSA-1 (HL7 table 0008), original mode.
const (
	AA = "AA" // accepted
	AE = "AE" // error: the message was understood but not (wholly) processed
	AR = "AR" // rejected: the message could not be understood or is not supported
)

// Error codes of ERR-3 (HL7 table 0357, message error condition codes).
const (
	CodeAccepted           = "0"
	CodeSegmentSequence    = "100"
	CodeRequiredMissing    = "101"
	CodeDataType           = "102"
	CodeTableValue         = "103"
	CodeUnsupportedMessage = "200"
	CodeUnsupportedEvent   = "201"
	CodeUnsupportedProcID  = "202"
	CodeUnsupportedVersion = "203"
	CodeUnknownKey         = "204"
	CodeDuplicateKey       = "205"
	CodeInternal           = "207"
)

// codeText are the descriptions table 0357 gives its codes.
var codeText = map[string]string{
	CodeAccepted:           "Message accepted",
	CodeSegmentSequence:    "Segment sequence error",
	CodeRequiredMissing:    "Required field missing",
	CodeDataType:           "Data type error",
	CodeTableValue:         "Table value not found",
	CodeUnsupportedMessage: "Unsupported message type",
	CodeUnsupportedEvent:   "Unsupported event code",
	CodeUnsupportedProcID:  "Unsupported processing id",
	CodeUnsupportedVersion: "Unsupported version id",
	CodeUnknownKey:         "Unknown key identifier",
	CodeDuplicateKey:       "Duplicate key identifier",
	CodeInternal:           "Application internal error",
}

// Severities of ERR-4 (HL7 table 0516).
const (
	SeverityError   = "E"
	SeverityWarning = "W"
	SeverityInfo    = "I"
)

// AckError is one ERR segment of an acknowledgment: where (ERR-2, an ERL),
// what (ERR-3, a table 0357 code), how bad (ERR-4) and, for a person,
// why (ERR-8).
type AckError struct {
	Segment  string // segment id, e.g. "OBX"; "" when the error is about no one segment
	Sequence int    // 1-based occurrence of that segment in the message
	Field    int    // 1-based field number, 0 for the segment as a whole
	Code     string // table 0357
	Severity string // E, W or I
	AppCode  string // ERR-5, the receiver's own error code, "" for none
	Text     string
}

// Ack is the acknowledgment of msg (nil for bytes that were no message):
// an ACK whose MSH swaps msg's sending and receiving application and
// facility and echoes its version and processing id, an MSA with code and
// msg's control id, and an ERR for each of errs. controlID is the ACK's
// own MSH-10.
func Ack(msg *Message, code, controlID string, now time.Time, errs []AckError) *Message {
	d := DefaultDelimiters
	var msh *Segment
	if msg != nil {
		d = msg.Delims
		msh = msg.Segment("MSH")
	}
	version := msh.Field(12).Raw()
	if version == "" {
		version = "2.6"
	}
	procID := msh.Field(11).Raw()
	if procID == "" {
		procID = "P"
	}
	trigger := msh.Field(9).Comp(2).Raw()
	msgType := "ACK"
	if trigger != "" {
		msgType += string(d.Component) + trigger + string(d.Component) + "ACK"
	}
	ack := &Message{Delims: d}
	ack.Segments = append(ack.Segments,
		d.NewSegment("MSH", msh.Field(5).Raw(), msh.Field(6).Raw(), msh.Field(3).Raw(), msh.Field(4).Raw(),
			FormatTS(now), "", msgType, d.Escape(controlID), procID, version),
		d.NewSegment("MSA", code, msh.Field(10).Raw()))
	for _, e := range errs {
		loc := ""
		if e.Segment != "" {
			loc = e.Segment + string(d.Component) + strconv.Itoa(max(e.Sequence, 1))
			if e.Field > 0 {
				loc += string(d.Component) + strconv.Itoa(e.Field)
			}
		}
		sev := e.Severity
		if sev == "" {
			sev = SeverityError
		}
		cwe := e.Code + string(d.Component) + d.Escape(codeText[e.Code]) + string(d.Component) + "HL70357"
		ack.Segments = append(ack.Segments, d.NewSegment("ERR", "", loc, cwe, sev, d.Escape(e.AppCode), "", "", d.Escape(e.Text)))
	}
	return ack
}

// FormatTS writes t as an HL7 DTM with seconds and its zone offset,
// YYYYMMDDHHMMSS+ZZZZ.
func FormatTS(t time.Time) string { return t.Format("20060102150405-0700") }
