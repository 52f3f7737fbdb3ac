package hl7v2

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// normalized is b with every segment ended by a carriage return.
func normalized(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\r"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r"))
}

func TestParse_Testdata_RoundTripsByteForByte(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.hl7")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in := readTestdata(t, filepath.Base(f))
			m, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.Bytes(), normalized(in); !bytes.Equal(got, want) {
				t.Fatalf("written back:\n%q\nwant\n%q", got, want)
			}
			again, err := Parse(m.Bytes())
			if err != nil || !bytes.Equal(again.Bytes(), m.Bytes()) {
				t.Fatalf("a second round differs: %v", err)
			}
		})
	}
}

func TestParse_Values(t *testing.T) {
	type read struct {
		seg   string
		get   func(s *Segment) string
		want  string
		about string
	}
	tests := []struct {
		file  string
		reads []read
	}{
		{"pcd01-spo2.hl7", []read{
			{"MSH", func(s *Segment) string { return s.Field(9).Raw() }, "ORU^R01^ORU_R01", "MSH-9 as written"},
			{"MSH", func(s *Segment) string { return s.Get(9, 3) }, "ORU_R01", "MSH-9.3 message structure"},
			{"MSH", func(s *Segment) string { return s.Get(12, 1) }, "2.6", "MSH-12 version"},
			{"MSH", func(s *Segment) string { return s.Get(15, 1) + "/" + s.Get(16, 1) }, "NE/AL", "MSH-15/16"},
			{"MSH", func(s *Segment) string { return s.Field(3).Comp(2).String() }, "ACDE48234567ABCD", "MSH-3.2 universal id"},
			{"PID", func(s *Segment) string { return s.Get(3, 1) }, "24017845396", "PID-3.1 of the first repetition"},
			{"PID", func(s *Segment) string { return s.Field(3).Comp(4).Sub(2).String() }, "2.16.578.1.12.4.1.4.1", "PID-3.4.2 assigning authority OID"},
			{"PID", func(s *Segment) string { return s.Field(3).Reps()[1].Comp(5).String() }, "MR", "PID-3 second repetition's type"},
			{"PID", func(s *Segment) string { return s.Field(5).Comp(2).String() }, "Kari", "PID-5.2 given name"},
			{"OBX", func(s *Segment) string { return s.Get(4, 1) }, "1.0.0.0", "OBX-4 containment"},
			{"NTE", func(s *Segment) string { return s.Field(3).String() }, `Probe on left index finger & good signal\.br\second line`, "\\T\\ unescaped, \\.br\\ kept"},
		}},
		{"bp-v231-escapes.hl7", []read{
			{"MSH", func(s *Segment) string { return s.Field(9).Raw() }, "ORU^R01", "MSH-9 without structure"},
			{"PID", func(s *Segment) string { return s.Field(3).Comp(4).String() }, "FNR", "PID-3.4 namespace"},
			{"PID", func(s *Segment) string { return s.Field(3).Comp(4).Sub(2).String() }, "", "no universal id"},
			{"OBX", func(s *Segment) string { return s.Field(6).Comp(3).String() }, "UCUM", "OBX-6.3 coding system"},
		}},
		{"custom-delimiters.hl7", []read{
			{"MSH", func(s *Segment) string { return s.Get(9, 2) }, "R01", "MSH-9.2 under $"},
			{"PID", func(s *Segment) string { return s.Field(3).Comp(4).Sub(2).String() }, "1.2.3", "! separates subcomponents"},
			{"PID", func(s *Segment) string { return s.Field(3).Reps()[1].Comp(1).String() }, "456", "% separates repetitions"},
			{"OBX", func(s *Segment) string { return s.Field(5).Comp(1).String() }, "a#b%c$d!e@f", "the message's own escapes"},
			{"OBX", func(s *Segment) string { return s.Field(5).Comp(2).String() }, "second", "second component"},
		}},
	}
	for _, tt := range tests {
		m, err := Parse(readTestdata(t, tt.file))
		if err != nil {
			t.Fatal(tt.file, err)
		}
		for _, r := range tt.reads {
			if got := r.get(m.Segment(r.seg)); got != r.want {
				t.Errorf("%s: %s = %q, want %q", tt.file, r.about, got, r.want)
			}
		}
	}
}

func TestParse_OBXWithAllEscapes(t *testing.T) {
	m, err := Parse(readTestdata(t, "bp-v231-escapes.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	obx := m.Segments[len(m.Segments)-1]
	if got, want := obx.Field(5).String(), "cuff | left arm ^ seated ~ \\ done\r"; got != want {
		t.Errorf("OBX-5 = %q, want %q", got, want)
	}
}

func TestParse_Malformed_SaysWhere(t *testing.T) {
	tests := []struct {
		name, in  string
		wantSeg   string
		wantField int
	}{
		{"empty", "", "", 0},
		{"not HL7", "GET / HTTP/1.1\r\n", "", 0},
		{"JSON", `{"resourceType":"Observation"}`, "", 0},
		{"MSH only", "MSH|", "", 0},
		{"no separator after MSH-2", "MSH|^~\\&", "MSH", 2},
		{"three encoding characters", "MSH|^~\\|A|", "MSH", 2},
		{"repeated delimiter", "MSH|^^\\&|A|", "MSH", 2},
		{"letter as delimiter", "MSH|^~\\A|A|", "MSH", 2},
		{"bad segment name", "MSH|^~\\&|A\rpid|1", "", 0},
		{"second MSH", "MSH|^~\\&|A\rMSH|^~\\&|B", "MSH", 0},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: %v, want a ParseError", tt.name, err)
			continue
		}
		if pe.Segment != tt.wantSeg || pe.Field != tt.wantField {
			t.Errorf("%s: %v names segment %q field %d, want %q %d", tt.name, err, pe.Segment, pe.Field, tt.wantSeg, tt.wantField)
		}
	}
}

func TestEscape_RoundTripsEveryDelimiterAndLineEnd(t *testing.T) {
	d := DefaultDelimiters
	for _, s := range []string{"", "plain", `a|b^c~d\e&f`, "line\rend\n", `\F\ literal`} {
		esc := d.Escape(s)
		if strings.ContainsAny(esc, "|^~&\r\n") {
			t.Errorf("Escape(%q) = %q holds a delimiter", s, esc)
		}
		if got := d.Unescape(esc); got != s {
			t.Errorf("Unescape(Escape(%q)) = %q", s, got)
		}
	}
	if got := d.Unescape(`\H\bold\N\ \X41\ \Xzz\ \ dangling`); got != `\H\bold\N\ A \Xzz\ \ dangling` {
		t.Errorf("formatting and bad hex kept: got %q", got)
	}
}

func TestAck_SwapsEndpointsEchoesIDAndListsErrors(t *testing.T) {
	m, err := Parse(readTestdata(t, "pcd01-spo2.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 1, 0, time.FixedZone("", 3600))
	ack := Ack(m, AE, "ACK-1", now, []AckError{
		{Segment: "OBX", Sequence: 3, Field: 6, Code: CodeTableValue, Severity: SeverityError, Text: "unit 1^2 unknown"},
		{Code: CodeDuplicateKey, Severity: SeverityWarning},
	})
	want := "MSH|^~\\&|HPSANDBOX|default|AcmeMonitor^ACDE48234567ABCD^EUI-64||20260301120001+0100||ACK^R01^ACK|ACK-1|P|2.6\r" +
		"MSA|AE|MSG00001\r" +
		"ERR||OBX^3^6|103^Table value not found^HL70357|E||||unit 1\\S\\2 unknown\r" +
		"ERR|||205^Duplicate key identifier^HL70357|W||||\r"
	if got := string(ack.Bytes()); got != want {
		t.Errorf("ACK\n%q\nwant\n%q", got, want)
	}
	if nack := Ack(nil, AR, "ACK-2", now, nil); !strings.HasPrefix(string(nack.Bytes()), "MSH|^~\\&|||||20260301120001+0100||ACK|ACK-2|P|2.6\rMSA|AR|\r") {
		t.Errorf("ACK of no message: %q", nack.Bytes())
	}
}

func TestParseTS(t *testing.T) {
	oslo := time.FixedZone("", 3600)
	tests := []struct {
		in     string
		want   time.Time
		digits int
		zone   bool
	}{
		{"20260301115959+0100", time.Date(2026, 3, 1, 11, 59, 59, 0, oslo), 14, true},
		{"20260301115959.1234-0500", time.Date(2026, 3, 1, 11, 59, 59, 123400000, time.FixedZone("", -5*3600)), 14, true},
		{"202603011204+0100", time.Date(2026, 3, 1, 12, 4, 0, 0, oslo), 12, true},
		{"20260301065930", time.Date(2026, 3, 1, 6, 59, 30, 0, time.UTC), 14, false},
		{"2026", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 4, false},
	}
	for _, tt := range tests {
		got, err := ParseTS(tt.in, time.UTC)
		if err != nil || !got.Time.Equal(tt.want) || got.Digits != tt.digits || got.Zone != tt.zone {
			t.Errorf("ParseTS(%q) = %+v, %v; want %v, %d digits, zone %v", tt.in, got, err, tt.want, tt.digits, tt.zone)
		}
	}
	for _, bad := range []string{"", "2026030", "20260230", "20261301", "20260301246000", "20260301120000+1", "20260301120000+2500", "2026.1", "2026030112000a", "20260301120000.12345"} {
		if _, err := ParseTS(bad, time.UTC); err == nil {
			t.Errorf("ParseTS(%q): no error", bad)
		}
	}
}
