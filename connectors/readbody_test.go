package connectors_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"hpsandbox/connectors"
)

// ReadBody reads what io.ReadAll over http.MaxBytesReader reads, with the
// same errors, whether the Content-Length is given, absent, wrong or past
// the limit, and however the body arrives in pieces.
func TestReadBody_AsReadAllOverMaxBytesReader(t *testing.T) {
	const limit = 64
	tests := []struct {
		name   string
		body   string
		length int64 // the request's Content-Length; -1 unknown
		want   string
		tooBig bool
		short  bool // an unexpected EOF: fewer bytes than declared
	}{
		{name: "exact length", body: "hello", length: 5, want: "hello"},
		{name: "unknown length", body: "hello", length: -1, want: "hello"},
		{name: "empty", body: "", length: 0, want: ""},
		{name: "at the limit", body: strings.Repeat("a", limit), length: limit, want: strings.Repeat("a", limit)},
		{name: "past the limit, declared", body: strings.Repeat("a", limit+1), length: limit + 1, tooBig: true},
		{name: "past the limit, undeclared", body: strings.Repeat("a", limit+10), length: -1, tooBig: true},
		{name: "past the limit, declared short", body: strings.Repeat("a", limit+10), length: 3, tooBig: true},
		{name: "longer than declared", body: "hello world", length: 5, want: "hello world"},
		{name: "shorter than declared", body: "hel", length: 5, short: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = iotest.OneByteReader(strings.NewReader(tt.body))
			if tt.short {
				body = iotest.OneByteReader(io.MultiReader(strings.NewReader(tt.body), iotest.ErrReader(io.ErrUnexpectedEOF)))
			}
			r := httptest.NewRequest(http.MethodPost, "/", body)
			r.ContentLength = tt.length
			got, err := connectors.ReadBody(httptest.NewRecorder(), r, limit)
			var tooLarge *http.MaxBytesError
			switch {
			case tt.tooBig:
				if !errors.As(err, &tooLarge) {
					t.Fatalf("error %v, want *http.MaxBytesError", err)
				}
			case tt.short:
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("error %v, want the reader's", err)
				}
			case err != nil:
				t.Fatal(err)
			case !bytes.Equal(got, []byte(tt.want)):
				t.Fatalf("read %q, want %q", got, tt.want)
			}
		})
	}
}

// A body of a given length is read into one buffer of that size (and the
// byte that finds its end), where io.ReadAll grows one as it reads.
func TestReadBody_OneBufferOfTheDeclaredLength(t *testing.T) {
	body := strings.Repeat("x", 4000)
	r := httptest.NewRequest(http.MethodPost, "/", iotest.HalfReader(strings.NewReader(body)))
	b, err := connectors.ReadBody(httptest.NewRecorder(), r, 1<<20)
	// The allocator rounds the buffer up to its size class, never by half.
	if err != nil || string(b) != body || cap(b) <= len(body) || cap(b) > len(body)*9/8 {
		t.Fatalf("read %d bytes of capacity %d, %v", len(b), cap(b), err)
	}
}
