package interaction

import (
	"errors"
	"testing"

	"hpsandbox/fhirstore/outcome"
)

func TestRoute_ChoosesTheInteractionFromMethodAndPath(t *testing.T) {
	tests := []struct {
		method, path string
		want         Request
	}{
		{"GET", "metadata", Request{Kind: Capabilities}},
		{"HEAD", "metadata", Request{Kind: Capabilities}},
		{"GET", "", Request{Kind: SearchSystem}},
		{"POST", "/", Request{Kind: Bundle}},
		{"POST", "_search", Request{Kind: SearchSystem}},
		{"GET", "_history", Request{Kind: HistorySystem}},
		{"GET", "Patient", Request{Kind: SearchType, Type: "Patient"}},
		{"POST", "Patient/_search", Request{Kind: SearchType, Type: "Patient"}},
		{"POST", "Patient", Request{Kind: Create, Type: "Patient"}},
		{"PUT", "Patient", Request{Kind: ConditionalUpdate, Type: "Patient"}},
		{"DELETE", "Patient", Request{Kind: ConditionalDelete, Type: "Patient"}},
		{"GET", "Patient/_history", Request{Kind: HistoryType, Type: "Patient"}},
		{"GET", "Patient/p1", Request{Kind: Read, Type: "Patient", ID: "p1"}},
		{"HEAD", "Patient/p1", Request{Kind: Read, Type: "Patient", ID: "p1"}},
		{"PUT", "Patient/p1", Request{Kind: Update, Type: "Patient", ID: "p1"}},
		{"PATCH", "Patient/p1", Request{Kind: Patch, Type: "Patient", ID: "p1"}},
		{"DELETE", "Patient/p1", Request{Kind: Delete, Type: "Patient", ID: "p1"}},
		{"GET", "Patient/p1/_history", Request{Kind: HistoryInstance, Type: "Patient", ID: "p1"}},
		{"GET", "Patient/p1/_history/3", Request{Kind: VRead, Type: "Patient", ID: "p1", Version: "3"}},
		{"GET", "Patient/p1/Observation", Request{Kind: SearchCompartment, Type: "Observation",
			CompartmentType: "Patient", Compartment: "p1"}},
		{"GET", "Patient/p1/$everything", Request{Kind: Operation, Type: "Patient", ID: "p1", Operation: "$everything"}},
		{"POST", "Observation/$validate", Request{Kind: Operation, Type: "Observation", Operation: "$validate"}},
		{"POST", "Observation/o1/$validate", Request{Kind: Operation, Type: "Observation", ID: "o1", Operation: "$validate"}},
		{"GET", "$export", Request{Kind: Operation, Operation: "$export"}},
		{"GET", "Patient/$export", Request{Kind: Operation, Type: "Patient", Operation: "$export"}},
		{"GET", "Group/g1/$export", Request{Kind: Operation, Type: "Group", ID: "g1", Operation: "$export"}},
		{"GET", "$export-status/job1", Request{Kind: Operation, ID: "job1", Operation: "$export-status"}},
		{"DELETE", "$export-status/job1", Request{Kind: Operation, ID: "job1", Operation: "$export-status"}},
		{"GET", "$export-file/job1/Patient.ndjson", Request{Kind: Operation, ID: "job1", Operation: "$export-file"}},
		{"GET", "Patient/p1/$meta", Request{Kind: Operation, Type: "Patient", ID: "p1", Operation: "$meta"}},
		{"POST", "Patient/p1/_history/2/$meta-add", Request{Kind: Operation, Type: "Patient", ID: "p1", Version: "2", Operation: "$meta-add"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			got, err := Route(tt.method, tt.path)
			if err != nil {
				t.Fatalf("Route: %v", err)
			}
			want := tt.want
			want.Method, want.Segments = tt.method, got.Segments
			if got.Method != want.Method || got.Kind != want.Kind || got.Type != want.Type || got.ID != want.ID ||
				got.Version != want.Version || got.CompartmentType != want.CompartmentType ||
				got.Compartment != want.Compartment || got.Operation != want.Operation {
				t.Errorf("Route(%s %q) = %+v, want %+v", tt.method, tt.path, *got, want)
			}
		})
	}
}

func TestRoute_RefusesWhatNoInteractionServes(t *testing.T) {
	tests := []struct {
		method, path string
		cat          outcome.Category
		allow        string
	}{
		{"GET", "Patiënt", outcome.Missing, ""},
		{"GET", "Patient/..", outcome.Incorrect, ""},
		{"GET", "Patient/a_b", outcome.Incorrect, ""},
		{"GET", "Patient/" + string(make([]byte, 70)), outcome.Incorrect, ""},
		{"DELETE", "metadata", outcome.NotAllowed, "GET"},
		{"POST", "_history", outcome.NotAllowed, "GET"},
		{"GET", "_search", outcome.NotAllowed, "POST"},
		{"HEAD", "Patient", outcome.NotAllowed, ""},
		{"POST", "Patient/p1", outcome.NotAllowed, ""},
		{"PUT", "Patient/p1/_history", outcome.NotAllowed, "GET"},
		{"GET", "Observation/o1/Patient", outcome.Incorrect, ""},
		{"GET", "Patient/p1/Nothing", outcome.Missing, ""},
		{"POST", "Patient/p1/Observation", outcome.NotAllowed, "GET"},
		{"GET", "Patient/p1/$frobnicate", outcome.Unimplemented, ""},
		{"POST", "Patient/p1/$everything", outcome.NotAllowed, "GET"},
		{"GET", "Patient/$validate", outcome.NotAllowed, "POST"},
		{"GET", "_foo/bar/baz/qux/quux", outcome.Missing, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			got, err := Route(tt.method, tt.path)
			if err == nil {
				t.Fatalf("Route(%s %q) = %+v, want an error", tt.method, tt.path, *got)
			}
			var oe *outcome.Error
			if !errors.As(err, &oe) || oe.Category != tt.cat {
				t.Fatalf("Route(%s %q): %v, want %s", tt.method, tt.path, err, tt.cat)
			}
			var na *NotAllowedError
			if tt.allow != "" && (!errors.As(err, &na) || na.Allow != tt.allow) {
				t.Errorf("Route(%s %q): Allow %v, want %q", tt.method, tt.path, na, tt.allow)
			}
		})
	}
}

func FuzzRoute(f *testing.F) {
	for _, s := range []string{"", "Patient/1", "Patient/1/_history/2", "Patient/1/Observation", "$export-status/x", "a/b/c/d/e/$meta"} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		r, err := Route(method, path)
		if err == nil && r.Kind == Unknown {
			t.Fatalf("Route(%q, %q) routed to no interaction without an error", method, path)
		}
		if err != nil && r != nil {
			t.Fatalf("Route(%q, %q) returned both a request and %v", method, path, err)
		}
	})
}
