package adminapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"hpsandbox/sandbox/requestlog"
)

func TestParseFilter_ReadsEachParameterAndNamesEveryBadOne(t *testing.T) {
	since := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		query string
		want  requestlog.Filter
		bad   []string // the fields of the errors, in order
	}{
		{"", requestlog.Filter{}, nil},
		{"client_id=app-1&method=post&path=/Patient", requestlog.Filter{ClientID: "app-1", Method: "POST", PathContains: "/Patient"}, nil},
		{"status=404", requestlog.Filter{Status: 404}, nil},
		{"connector=example", requestlog.Filter{Connector: "example"}, nil},
		{"connector=Example", requestlog.Filter{}, []string{"connector"}},
		{"status=4xx", requestlog.Filter{StatusClass: 4}, nil},
		{"status=5XX", requestlog.Filter{StatusClass: 5}, nil},
		{"since=2025-03-01T09:00:00%2B01:00&until=2025-03-02T00:00:00.5Z", requestlog.Filter{Since: since, Until: time.Date(2025, 3, 2, 0, 0, 0, 5e8, time.UTC)}, nil},
		{"since=2025-03-01T09:00:00+01:00", requestlog.Filter{Since: since}, nil},
		{"before=42&limit=500", requestlog.Filter{Before: 42, Limit: 500}, nil},
		{"status=600", requestlog.Filter{}, []string{"status"}},
		{"status=40", requestlog.Filter{}, []string{"status"}},
		{"status=4x", requestlog.Filter{}, []string{"status"}},
		{"status=+40", requestlog.Filter{}, []string{"status"}},
		{"method=GE T", requestlog.Filter{}, []string{"method"}},
		{"since=yesterday", requestlog.Filter{}, []string{"since"}},
		{"since=2025-03-02T00:00:00Z&until=2025-03-01T00:00:00Z", requestlog.Filter{}, []string{"until"}},
		{"before=0", requestlog.Filter{}, []string{"before"}},
		{"before=abc", requestlog.Filter{}, []string{"before"}},
		{"limit=0", requestlog.Filter{}, []string{"limit"}},
		{"limit=501", requestlog.Filter{}, []string{"limit"}},
		{"path=", requestlog.Filter{}, []string{"path"}},
		{"status=200&status=201", requestlog.Filter{}, []string{"status"}},
		{"stauts=404&limit=x", requestlog.Filter{}, []string{"limit", "stauts"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parseFilter("sb", q)
			if tt.bad != nil {
				p, ok := err.(*Problem)
				if !ok || p.Status != http.StatusBadRequest {
					t.Fatalf("err = %v, want a 400 problem", err)
				}
				var fields []string
				for _, e := range p.Errors {
					fields = append(fields, e.Field)
				}
				if !slices.Equal(fields, tt.bad) {
					t.Errorf("errors name %v, want %v", fields, tt.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Sandbox = "sb"
			if !f.Since.Equal(tt.want.Since) || !f.Until.Equal(tt.want.Until) {
				t.Errorf("since %v until %v, want %v and %v", f.Since, f.Until, tt.want.Since, tt.want.Until)
			}
			f.Since, f.Until, tt.want.Since, tt.want.Until = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if !reflect.DeepEqual(f, tt.want) {
				t.Errorf("filter %+v, want %+v", f, tt.want)
			}
		})
	}
}

func TestListRequests_FiltersPagesAndCountsDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sandbox(aliceUser, "acme-dev")
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	var entries []requestlog.Entry
	for i := range 10 {
		status := 200
		if i%3 == 0 {
			status = 404
		}
		entries = append(entries, requestlog.Entry{Sandbox: "acme-dev", Time: t0.Add(time.Duration(i) * time.Minute),
			ClientID: "app-" + strconv.Itoa(i%2), Method: "GET", Path: fmt.Sprintf("/fhir/acme-dev/Patient/p%d", i),
			Status: status, Latency: 1500 * time.Microsecond, Scopes: "patient/*.rs",
			Issues: []requestlog.Issue{{Severity: "error", Code: "not-found", Expression: "Patient.id"}}})
	}
	entries = append(entries, requestlog.Entry{Sandbox: "other", Time: t0, Method: "GET", Path: "/fhir/other/Patient", Status: 404})
	if err := e.log.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	e.dropped.Store(3)

	get := func(query string) requestPageJSON {
		t.Helper()
		var page requestPageJSON
		e.must(http.StatusOK, "GET", "/sandboxes/acme-dev/requests?"+query, revUser, nil).json(t, &page)
		return page
	}
	paths := func(p requestPageJSON) (out []string) {
		for _, en := range p.Entries {
			out = append(out, en.Path[len("/fhir/acme-dev/Patient/"):])
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"p9", "p8", "p7", "p6", "p5", "p4", "p3", "p2", "p1", "p0"}},
		{"status=4xx", []string{"p9", "p6", "p3", "p0"}},
		{"status=404&client_id=app-1", []string{"p9", "p3"}},
		{"path=p7", []string{"p7"}},
		{"method=get&since=2025-03-01T08:02:00Z&until=2025-03-01T08:04:00Z", []string{"p3", "p2"}},
		{"method=POST", nil},
	}
	for _, tt := range tests {
		if got := paths(get(tt.query)); !slices.Equal(got, tt.want) {
			t.Errorf("?%s: %v, want %v", tt.query, got, tt.want)
		}
	}

	// Pages of 4 follow one another through next.
	var all []string
	query := "limit=4"
	for range 5 {
		page := get(query)
		all = append(all, paths(page)...)
		if page.Next == "" {
			break
		}
		query = "limit=4&before=" + page.Next
	}
	if len(all) != 10 || all[0] != "p9" || all[9] != "p0" {
		t.Errorf("paging by 4: %v, want all 10 newest first", all)
	}

	page := get("path=p9")
	en := page.Entries[0]
	if en.LatencyMS != 1.5 || en.ClientID != "app-1" || len(en.Issues) != 1 || en.Issues[0].Expression != "Patient.id" {
		t.Errorf("entry %+v", en)
	}
	if page.Dropped == nil || *page.Dropped != 3 {
		t.Errorf("dropped %v, want 3", page.Dropped)
	}
	p := e.must(http.StatusBadRequest, "GET", "/sandboxes/acme-dev/requests?status=4x&limit=1000", aliceUser, nil).problem(t)
	if len(p.Errors) != 2 {
		t.Errorf("two bad parameters: %+v, want both named", p)
	}
	e.must(http.StatusNotFound, "GET", "/sandboxes/acme-dev/requests", bobUser, nil)
}
