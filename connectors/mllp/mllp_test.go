package mllp_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"hpsandbox/connectors/mllp"
)

func frame(s string) string { return "\x0b" + s + "\x1c\r" }

func TestReadFrame_Stream(t *testing.T) {
	long := strings.Repeat("x", 10000) // beyond bufio's buffer
	tests := []struct {
		name string
		in   string
		want []string
		err  error
	}{
		{"OneFrame", frame("MSH|^~\\&|a"), []string{"MSH|^~\\&|a"}, io.EOF},
		{"TwoFramesWithNewlinesBetween", frame("a") + "\r\n" + frame("b"), []string{"a", "b"}, io.EOF},
		{"EmptyMessage", frame(""), []string{""}, io.EOF},
		{"LongMessage", frame(long), []string{long}, io.EOF},
		{"EmptyStream", "", nil, io.EOF},
		{"GarbageBeforeFrame_IsMalformed", "x" + frame("a"), nil, mllp.ErrFrame},
		{"CutInsideFrame_IsUnexpectedEOF", "\x0bMSH", nil, io.ErrUnexpectedEOF},
		{"CutAfterEndBlock_IsUnexpectedEOF", "\x0bMSH\x1c", nil, io.ErrUnexpectedEOF},
		{"EndBlockWithoutCR_IsMalformed", "\x0bMSH\x1cX", nil, mllp.ErrFrame},
		{"StartBlockInsideMessage_IsMalformed", "\x0ba\x0bb\x1c\r", nil, mllp.ErrFrame},
		{"TooLarge", frame(strings.Repeat("y", 101)), nil, mllp.ErrTooLarge},
		{"AtTheBound", frame(strings.Repeat("y", 100)), []string{strings.Repeat("y", 100)}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := 0
			if strings.HasPrefix(tt.name, "TooLarge") || strings.HasPrefix(tt.name, "AtTheBound") {
				max = 100
			}
			r := mllp.NewReader(strings.NewReader(tt.in), max)
			var got []string
			for {
				msg, err := r.ReadFrame()
				if err != nil {
					if !errors.Is(err, tt.err) {
						t.Fatalf("error %v, want %v", err, tt.err)
					}
					break
				}
				got = append(got, string(msg))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Fatalf("frames %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteFrame_RoundTripsAndRefusesFramingBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := mllp.WriteFrame(&buf, []byte("MSH|a\rPID|b")); err != nil {
		t.Fatal(err)
	}
	msg, err := mllp.NewReader(&buf, 0).ReadFrame()
	if err != nil || string(msg) != "MSH|a\rPID|b" {
		t.Fatalf("round trip: %q, %v", msg, err)
	}
	for _, bad := range []string{"a\x0bb", "a\x1cb"} {
		if err := mllp.WriteFrame(io.Discard, []byte(bad)); !errors.Is(err, mllp.ErrFrame) {
			t.Errorf("WriteFrame(%q) = %v, want ErrFrame", bad, err)
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	for _, s := range []string{frame("a"), frame(""), "\x0b\x1c", "x", frame("a") + frame("b")} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := mllp.NewReader(bytes.NewReader(in), 64)
		for range len(in) + 1 {
			msg, err := r.ReadFrame()
			if err != nil {
				return
			}
			if len(msg) > 64 || bytes.IndexByte(msg, mllp.StartBlock) >= 0 {
				t.Fatalf("frame %q breaks the bound or holds a start block", msg)
			}
			var buf bytes.Buffer
			if bytes.IndexByte(msg, mllp.EndBlock) < 0 {
				if err := mllp.WriteFrame(&buf, msg); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
