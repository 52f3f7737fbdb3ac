package guides

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"hpsandbox/connectors/hl7v2"
)

// The convention of HL7 v2 examples: a block ```hl7 example holds one
// message, a segment a line, which the runner sends over MLLP to the
// sandbox's medical-device listener (DefaultMLLP as the guides write it);
// the ```expect block after it says what the acknowledgement's fields
// must be, one rule a line:
//
//	MSA-1 = AA      field 1 of the first MSA segment is AA (its first component)
//	ERR-3 ~ 204     the field, as text, contains 204
//
// Every other hl7 block says norun.
const (
	hl7Lang = "hl7"
	// DefaultMLLP is the device feed's MLLP listener as the guides write it.
	DefaultMLLP = "127.0.0.1:2575"
)

// HL7Example is one executable HL7 v2 example of a guide.
type HL7Example struct {
	File string
	Line int
	// Message is the message with segments ended by carriage returns,
	// as it goes on the wire.
	Message []byte
	Expect  []HL7Rule
}

// HL7Rule is one rule on a field of the acknowledgement: Segment-Field,
// an operator ("=" or "~") and the value.
type HL7Rule struct {
	Line    int
	Segment string
	Field   int
	Op      string
	Value   string
}

// HL7Examples returns the HL7 v2 examples of every guide.
func (s *Set) HL7Examples() ([]HL7Example, error) {
	var all []HL7Example
	var errs []error
	for _, g := range append([]*Guide{s.Index}, s.Guides...) {
		ex, err := ParseHL7Examples(g.File, g.Source)
		all = append(all, ex...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// ParseHL7Examples finds the HL7 v2 examples of one Markdown file.
func ParseHL7Examples(file string, src []byte) ([]HL7Example, error) {
	fences, err := scanFences(src)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", file, err)
	}
	var out []HL7Example
	var errs []error
	bad := func(line int, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, a...)))
	}
	for i, f := range fences {
		if f.lang != hl7Lang || f.attrs[norunAttr] {
			continue
		}
		if !f.attrs[exampleAttr] {
			bad(f.line, "an hl7 block says whether it runs: ```hl7 example (with an expect block after it) or ```hl7 norun")
			continue
		}
		if i+1 >= len(fences) || fences[i+1].lang != expectLang || strings.TrimSpace(f.gapAfter) != "" {
			bad(f.line, "an example is followed at once by its ```expect block")
			continue
		}
		msg, err := hl7Message(f.body)
		if err != nil {
			bad(f.line, "%v", err)
			continue
		}
		rules, err := parseHL7Expect(fences[i+1].line, fences[i+1].body)
		if err != nil {
			bad(fences[i+1].line, "%v", err)
			continue
		}
		out = append(out, HL7Example{File: file, Line: f.line, Message: msg, Expect: rules})
	}
	return out, errors.Join(errs...)
}

// hl7Message joins a block's lines into a message, segments ended by
// carriage returns, and checks that it parses.
func hl7Message(body string) ([]byte, error) {
	var segs []string
	for l := range strings.SplitSeq(body, "\n") {
		if l = strings.TrimRight(l, " \r"); l != "" {
			segs = append(segs, l)
		}
	}
	msg := []byte(strings.Join(segs, "\r") + "\r")
	if _, err := hl7v2.Parse(msg); err != nil {
		return nil, fmt.Errorf("the message does not parse: %v", err)
	}
	return msg, nil
}

func parseHL7Expect(line int, body string) ([]HL7Rule, error) {
	var rules []HL7Rule
	for i, raw := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		l := strings.TrimSpace(raw)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		r, err := parseHL7Rule(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", line+i, err)
		}
		r.Line = line + i
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		return nil, errors.New("an hl7 example's expect block names at least MSA-1")
	}
	return rules, nil
}

func parseHL7Rule(l string) (HL7Rule, error) {
	for _, op := range []string{"=", "~"} {
		lhs, v, ok := strings.Cut(l, " "+op+" ")
		if !ok {
			continue
		}
		seg, n, ok := strings.Cut(strings.TrimSpace(lhs), "-")
		field, err := strconv.Atoi(n)
		if !ok || err != nil || field < 1 || field > 999 || len(seg) != 3 || strings.ToUpper(seg) != seg {
			return HL7Rule{}, fmt.Errorf("%q: want SEG-n, e.g. MSA-1", lhs)
		}
		return HL7Rule{Segment: seg, Field: field, Op: op, Value: strings.TrimSpace(v)}, nil
	}
	return HL7Rule{}, fmt.Errorf("%q: want SEG-n = value or SEG-n ~ text", l)
}

// Check compares an acknowledgement with the rules, returning each
// difference.
func (e HL7Example) Check(ack []byte) []string {
	m, err := hl7v2.Parse(ack)
	if err != nil {
		return []string{fmt.Sprintf("the answer is not an HL7 v2 message: %v", err)}
	}
	var diffs []string
	for _, r := range e.Expect {
		seg := m.Segment(r.Segment)
		if seg == nil {
			diffs = append(diffs, fmt.Sprintf("line %d: the answer has no %s segment", r.Line, r.Segment))
			continue
		}
		got := seg.Get(r.Field, 1)
		if r.Op == "~" {
			got = seg.Field(r.Field).String()
		}
		switch {
		case r.Op == "=" && got != r.Value:
			diffs = append(diffs, fmt.Sprintf("line %d: %s-%d is %q, want %q", r.Line, r.Segment, r.Field, got, r.Value))
		case r.Op == "~" && !strings.Contains(got, r.Value):
			diffs = append(diffs, fmt.Sprintf("line %d: %s-%d is %q, want it to contain %q", r.Line, r.Segment, r.Field, got, r.Value))
		}
	}
	return diffs
}
