package guides

import (
	"strings"
	"testing"
)

const ackAE = "MSH|^~\\&|HPSANDBOX|default|Acme||20260301120000+0100||ACK^R01^ACK|HPS1|P|2.6\r" +
	"MSA|AE|GUIDE-2\rERR||PID^1^3|204^Unknown key identifier^HL70357|E\r"

func TestParseHL7Examples_ReadsAMessageAndItsRules(t *testing.T) {
	src := "```hl7 example\nMSH|^~\\&|Acme||HPSANDBOX|default|20260301120000+0100||ORU^R01^ORU_R01|GUIDE-2|P|2.6\n" +
		"PID|||01010112345\n```\n\n```expect\n# the patient is unknown\nMSA-1 = AE\nERR-3 ~ 204\n```\n" +
		"```hl7 norun\nnot a message\n```\n"
	ex, err := ParseHL7Examples("g.md", []byte(src))
	if err != nil || len(ex) != 1 {
		t.Fatalf("%d examples, %v", len(ex), err)
	}
	e := ex[0]
	if e.Line != 2 || !strings.HasSuffix(string(e.Message), "\rPID|||01010112345\r") || strings.Contains(string(e.Message), "\n") {
		t.Errorf("example at line %d, message %q: want segments ended by CR", e.Line, e.Message)
	}
	if len(e.Expect) != 2 || e.Expect[0] != (HL7Rule{Line: 8, Segment: "MSA", Field: 1, Op: "=", Value: "AE"}) {
		t.Errorf("rules %+v", e.Expect)
	}
	if d := e.Check([]byte(ackAE)); len(d) != 0 {
		t.Errorf("a matching ACK: %v", d)
	}
	aa := strings.Replace(ackAE, "MSA|AE", "MSA|AA", 1)
	if d := e.Check([]byte(aa)); len(d) != 1 || !strings.Contains(d[0], `MSA-1 is "AA", want "AE"`) {
		t.Errorf("an AA: %v", d)
	}
	if d := e.Check([]byte("not hl7")); len(d) != 1 {
		t.Errorf("not HL7: %v", d)
	}
}

func TestParseHL7Examples_EnforcesTheConvention(t *testing.T) {
	for name, src := range map[string]string{
		"no attribute":    "```hl7\nMSH|^~\\&|A\n```\n",
		"no expect":       "```hl7 example\nMSH|^~\\&|A\n```\n",
		"bad rule":        "```hl7 example\nMSH|^~\\&|A\n```\n```expect\nMSA1 = AA\n```\n",
		"empty expect":    "```hl7 example\nMSH|^~\\&|A\n```\n```expect\n# nothing\n```\n",
		"not a message":   "```hl7 example\nhello\n```\n```expect\nMSA-1 = AA\n```\n",
		"text in between": "```hl7 example\nMSH|^~\\&|A\n```\ntext\n```expect\nMSA-1 = AA\n```\n",
	} {
		if _, err := ParseHL7Examples("g.md", []byte(src)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
