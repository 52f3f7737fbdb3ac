package interaction

import (
	"errors"
	"testing"

	"hpsandbox/fhirstore/outcome"
)

func TestStatus_EveryCategoryHasItsOwnCode(t *testing.T) {
	seen := map[int]outcome.Category{}
	for _, c := range []outcome.Category{outcome.Incorrect, outcome.Unauthenticated, outcome.Denied, outcome.Missing,
		outcome.NotAllowed, outcome.NotAcceptable, outcome.Conflicting, outcome.Gone, outcome.PreconditionFailed,
		outcome.TooLarge, outcome.UnsupportedMedia, outcome.Unprocessable, outcome.Throttled, outcome.Fault,
		outcome.Unimplemented, outcome.Busy} {
		code := Status(outcome.New(c, outcome.Processing, "x"))
		if prev, dup := seen[code]; dup || code < 400 {
			t.Errorf("%s answers %d, as %s does", c, code, prev)
		}
		seen[code] = c
		if c.Server() != (code >= 500) {
			t.Errorf("%s.Server() = %v but answers %d", c, c.Server(), code)
		}
	}
	if got := StatusLine(errors.New("boom")); got != "500 Internal Server Error" {
		t.Errorf("a plain error: %q", got)
	}
}
