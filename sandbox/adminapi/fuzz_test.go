package adminapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"hpsandbox/sandbox/requestlog"
)

// FuzzRequestFilter feeds raw queries to the requests endpoint's parser:
// it never panics, refuses with a 400 that names what is wrong, and what
// it accepts is a filter the request log serves and that reads back the
// same when written as a query again.
func FuzzRequestFilter(f *testing.F) {
	for _, seed := range []string{
		"", "status=4xx", "status=404&method=get", "path=%2FPatient&client_id=app-1",
		"since=2025-03-01T09:00:00%2B01:00&until=2025-03-02T00:00:00.5Z", "since=2025-03-01T09:00:00+01:00",
		"before=42&limit=500", "limit=0", "status=5XX&status=1xx", "stauts=1", "before=-1", "%zz", "method=%00", "connector=example", "connector=Ex",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // the values it could read
		got, err := parseFilter("sb", q)
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status != http.StatusBadRequest || len(p.Errors) == 0 {
				t.Fatalf("%q: %v, want a 400 problem with errors", raw, err)
			}
			for _, fe := range p.Errors {
				if fe.Field == "" || fe.Message == "" {
					t.Fatalf("%q: error %+v names no field or says nothing", raw, fe)
				}
			}
			return
		}
		if _, err := got.Normalized(); err != nil {
			t.Fatalf("%q: accepted %+v, which the log refuses: %v", raw, got, err)
		}
		if got.Limit < 0 || got.Limit > requestlog.MaxLimit || (got.Status != 0 && (got.Status < 100 || got.Status > 599)) {
			t.Fatalf("%q: accepted %+v", raw, got)
		}
		again, err := parseFilter("sb", filterQuery(got))
		if err != nil {
			t.Fatalf("%q: %+v written as %s does not read back: %v", raw, got, filterQuery(got).Encode(), err)
		}
		if !sameFilter(got, again) {
			t.Fatalf("%q: %+v reads back as %+v", raw, got, again)
		}
	})
}

// filterQuery writes f as the query parameters that select it.
func filterQuery(f requestlog.Filter) url.Values {
	q := url.Values{}
	set := func(name, v string, ok bool) {
		if ok {
			q.Set(name, v)
		}
	}
	set("client_id", f.ClientID, f.ClientID != "")
	set("connector", f.Connector, f.Connector != "")
	set("method", f.Method, f.Method != "")
	set("status", strconv.Itoa(f.Status), f.Status != 0)
	set("status", strconv.Itoa(f.StatusClass)+"xx", f.StatusClass != 0)
	set("path", f.PathContains, f.PathContains != "")
	set("since", f.Since.Format(time.RFC3339Nano), !f.Since.IsZero())
	set("until", f.Until.Format(time.RFC3339Nano), !f.Until.IsZero())
	set("before", strconv.FormatInt(f.Before, 10), f.Before != 0)
	set("limit", strconv.Itoa(f.Limit), f.Limit != 0)
	return q
}

func sameFilter(a, b requestlog.Filter) bool {
	if !a.Since.Equal(b.Since) || !a.Until.Equal(b.Until) {
		return false
	}
	a.Since, a.Until, b.Since, b.Until = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b && !strings.ContainsAny(a.Method, "abcdefghijklmnopqrstuvwxyz")
}
