// Package storetest is the behavioural suite every fhirstore backend must
// pass: a backend's own test calls Run with a factory for fresh stores.
// Adding a backend means making this suite pass.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// Factory returns a new, empty store whose clock is now. The store is
// closed by the suite.
type Factory func(t *testing.T, now func() time.Time) fhirstore.Store

// Clock is a settable test clock that advances by Step on every reading.
type Clock struct {
	mu   sync.Mutex
	t    time.Time
	Step time.Duration
}

// NewClock returns a clock starting at a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Step: time.Second}
}

// Now returns the current reading and advances the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.Step)
	return t
}

// Run runs the whole suite.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s fhirstore.Store, c *Clock)
	}{
		{"Create_AssignsIDAndStampsMeta", testCreateStamps},
		{"Create_WithTakenID_ReturnsErrExists", testCreateTakenID},
		{"Read_Unknown_ReturnsErrNotFound", testReadUnknown},
		{"Update_Missing_CreatesVersion1", testUpdateCreates},
		{"Update_Existing_IncrementsVersionAndKeepsOld", testUpdateIncrements},
		{"Update_IfMatchMismatch_ConflictsAndWritesNothing", testIfMatch},
		{"Update_SameInstant_KeepsLastUpdatedIncreasing", testMonotonicTime},
		{"Delete_ThenRead_ReturnsGoneWithDeletionVersion", testDelete},
		{"Delete_Missing_IsNoOp", testDeleteMissing},
		{"Update_AfterDelete_Recreates", testResurrect},
		{"VRead_UnknownVersion_ReturnsErrNotFound", testVReadUnknown},
		{"History_InstanceTypeSystem_NewestFirst", testHistory},
		{"History_Paging_StableUnderLaterWrites", testHistoryPaging},
		{"History_Since_KeepsLaterVersions", testHistorySince},
		{"History_Snapshot_CoversEarlierWritesAndNoLaterOnes", testHistorySnapshot},
		{"ReplaceMeta_RewritesAVersionInPlace", testReplaceMeta},
		{"History_UnknownInstance_ReturnsErrNotFound", testHistoryUnknown},
		{"Sandboxes_AreIsolated", testIsolation},
		{"Tx_Error_RollsBackEveryWrite", testTxRollback},
		{"Tx_ReadsSeeOwnWrites", testTxReadsOwnWrites},
		{"Update_ConcurrentIfMatch_NeverLosesAnUpdate", testConcurrentIfMatch},
		{"Search_Type_ListsCurrentOfTypeInSandboxByID", testSearchType},
		{"Search_Parameters_MatchAsSpecified", testSearchParameters},
		{"Search_Sort_SeveralKeysAndDirections", testSearchSort},
		{"Search_Sort_EveryKindIsOneOrderByIndexOrFilterPagedEitherWay", testSearchSortPaging},
		{"Search_Sort_ReferenceURIOrTokenOfManyValuesByLeastOrGreatestOnce", testSearchSortManyReferences},
		{"Search_UpToTheLimits_WorksForEveryKindOfParameter", testSearchLimits},
		{"Search_BeyondALimit_Is400NamingIt", testSearchBeyondLimits},
		{"Search_TooLargeForTheStore_Is400NamingItsLimit", testSearchTooLargeForTheStore},
		{"Search_Include_RevInclude_Iterate", testSearchInclude},
		{"Search_CompartmentAndSystem", testSearchCompartmentAndSystem},
		{"Search_Sandboxes_AreIsolated", testSearchIsolation},
		{"Search_Totals", testSearchTotals},
		{"Search_Counts_EveryCaseAndWholeTypes", testSearchCounts},
		{"Search_NumberQuantity_RangesByTheirBounds", testSearchNumberRanges},
		{"Search_Confinement_ChainsAndHasSeeOnlyTheCompartment", testSearchConfinement},
		{"Search_Confinement_IncludesStayInTheCompartment", testSearchConfinementOfIncludes},
		{"Search_Confinement_AbsoluteReferencesOnlyUnderTheBase", testSearchConfinementOfAbsoluteReferences},
		{"Search_Paging_FollowsCursorsToTheEnd", testSearchPaging},
		{"Search_Paging_StableUnderWrites", testSearchPagingUnderWrites},
		{"Search_Paging_RepeatedValueComesOnce", testSearchPagingRepeatedValues},
		{"History_Confinement_EachVersionJudgedAsItWas", testHistoryConfinement},
		{"VRead_Confinement_AVersionNotSeenIsNotFound", testVReadConfinement},
		{"History_Confinement_ReplaceMetaRejudgesTheVersion", testHistoryConfinementAfterReplaceMeta},
		{"History_Confinement_EraseLeavesNothingOfThePast", testHistoryConfinementAfterErase},
		{"EraseSandbox_RemovesEverythingOfOneSandboxOnly", testErase},
		{"ObserveCommits_CommittedVersionsInOrder_NeverRolledBack", testObserveCommits},
		{"ObserveCommits_ConcurrentWritersInCommitOrder", testObserveConcurrentCommits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock()
			s := newStore(t, c.Now)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s, c)
		})
	}
}

const sb = "sb1"

// Patient returns a validated Patient with the given id and family name.
func Patient(t testing.TB, id, family string) *fhirjson.Resource {
	t.Helper()
	body := fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":%q}],"meta":{"tag":[{"system":"urn:test","code":"t"}]}}`, family)
	if id != "" {
		body = fmt.Sprintf(`{"resourceType":"Patient","id":%q,"name":[{"family":%q}]}`, id, family)
	}
	r, err := fhirjson.Parse([]byte(body))
	if err != nil {
		t.Fatalf("test resource invalid: %v", err)
	}
	return r
}

func family(t *testing.T, r *fhirstore.Resource) string {
	t.Helper()
	var p struct {
		Name []struct{ Family string }
	}
	if err := json.Unmarshal(r.Body, &p); err != nil || len(p.Name) == 0 {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	return p.Name[0].Family
}

func testCreateStamps(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	r, err := s.Create(ctx, sb, Patient(t, "", "Nordmann"), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == "" || !fhirjson.ValidID(r.ID) || r.Version != 1 || r.Method != fhirstore.MethodCreate {
		t.Fatalf("created %+v", r)
	}
	var got struct {
		ID   string
		Meta struct {
			VersionID   string
			LastUpdated string
			Tag         []struct{ Code string }
		}
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || got.Meta.VersionID != "1" || got.Meta.LastUpdated != fhirjson.FormatInstant(r.LastUpdated) {
		t.Errorf("body %s does not carry id %s version 1 lastUpdated %v", r.Body, r.ID, r.LastUpdated)
	}
	if len(got.Meta.Tag) != 1 || got.Meta.Tag[0].Code != "t" {
		t.Errorf("client meta.tag lost: %s", r.Body)
	}
	read, err := s.Read(ctx, sb, "Patient", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(read.Body) != string(r.Body) || read.Version != 1 || !read.LastUpdated.Equal(r.LastUpdated) {
		t.Errorf("read %+v, created %+v", read, r)
	}
}

func testCreateTakenID(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	if _, err := s.Create(ctx, sb, Patient(t, "", "A"), "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, sb, Patient(t, "", "B"), "p1"); !errors.Is(err, fhirstore.ErrExists) {
		t.Fatalf("second create with id p1: %v, want ErrExists", err)
	}
	r, err := s.Read(ctx, sb, "Patient", "p1")
	if err != nil || family(t, r) != "A" {
		t.Fatalf("p1 after refused create: %v", err)
	}
}

func testReadUnknown(t *testing.T, s fhirstore.Store, c *Clock) {
	if _, err := s.Read(context.Background(), sb, "Patient", "nope"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Fatalf("Read unknown: %v", err)
	}
}

func testUpdateCreates(t *testing.T, s fhirstore.Store, c *Clock) {
	r, created, err := s.Update(context.Background(), sb, Patient(t, "p1", "A"), fhirstore.UpdateOptions{})
	if err != nil || !created || r.Version != 1 || r.Method != fhirstore.MethodUpdate {
		t.Fatalf("update-as-create: %+v created=%v err=%v", r, created, err)
	}
}

func testUpdateIncrements(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	v1, _, err := s.Update(ctx, sb, Patient(t, "p1", "A"), fhirstore.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v2, created, err := s.Update(ctx, sb, Patient(t, "p1", "B"), fhirstore.UpdateOptions{IfMatch: 1})
	if err != nil || created || v2.Version != 2 || !v2.LastUpdated.After(v1.LastUpdated) {
		t.Fatalf("second update: %+v created=%v err=%v", v2, created, err)
	}
	old, err := s.VRead(ctx, sb, "Patient", "p1", 1)
	if err != nil || family(t, old) != "A" || string(old.Body) != string(v1.Body) {
		t.Fatalf("vread 1: %v", err)
	}
	cur, err := s.Read(ctx, sb, "Patient", "p1")
	if err != nil || family(t, cur) != "B" || cur.Version != 2 {
		t.Fatalf("read current: %+v %v", cur, err)
	}
}

func testIfMatch(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	if _, _, err := s.Update(ctx, sb, Patient(t, "p1", "A"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []int64{2, 7} {
		if _, _, err := s.Update(ctx, sb, Patient(t, "p1", "B"), fhirstore.UpdateOptions{IfMatch: v}); !errors.Is(err, fhirstore.ErrVersionConflict) {
			t.Errorf("If-Match %d against version 1: %v", v, err)
		}
	}
	if _, _, err := s.Update(ctx, sb, Patient(t, "other", "B"), fhirstore.UpdateOptions{IfMatch: 1}); !errors.Is(err, fhirstore.ErrVersionConflict) {
		t.Errorf("If-Match on a missing resource: %v", err)
	}
	r, err := s.Read(ctx, sb, "Patient", "p1")
	if err != nil || r.Version != 1 || family(t, r) != "A" {
		t.Fatalf("after conflicts: %+v %v", r, err)
	}
	if _, err := s.Read(ctx, sb, "Patient", "other"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("conflicting update wrote: %v", err)
	}
}

func testMonotonicTime(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	c.Step = 0
	var last time.Time
	for i := 0; i < 3; i++ {
		r, _, err := s.Update(ctx, sb, Patient(t, "p1", "A"), fhirstore.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.LastUpdated.After(last) {
			t.Fatalf("version %d lastUpdated %v not after %v", r.Version, r.LastUpdated, last)
		}
		last = r.LastUpdated
	}
}

func testDelete(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	if _, _, err := s.Update(ctx, sb, Patient(t, "p1", "A"), fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Delete(ctx, sb, "Patient", "p1")
	if err != nil || d == nil || d.Version != 2 || !d.Deleted() || d.Body != nil {
		t.Fatalf("delete: %+v %v", d, err)
	}
	_, err = s.Read(ctx, sb, "Patient", "p1")
	var gone *fhirstore.GoneError
	if !errors.As(err, &gone) || gone.Resource.Version != 2 {
		t.Fatalf("read after delete: %v", err)
	}
	if v1, err := s.VRead(ctx, sb, "Patient", "p1", 1); err != nil || family(t, v1) != "A" {
		t.Fatalf("vread 1 after delete: %v", err)
	}
	if v2, err := s.VRead(ctx, sb, "Patient", "p1", 2); err != nil || !v2.Deleted() {
		t.Fatalf("vread of the deletion: %+v %v", v2, err)
	}
}

func testDeleteMissing(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	if d, err := s.Delete(ctx, sb, "Patient", "nope"); d != nil || err != nil {
		t.Fatalf("delete missing: %+v %v", d, err)
	}
	s.Update(ctx, sb, Patient(t, "p1", "A"), fhirstore.UpdateOptions{})
	s.Delete(ctx, sb, "Patient", "p1")
	if d, err := s.Delete(ctx, sb, "Patient", "p1"); d != nil || err != nil {
		t.Fatalf("second delete: %+v %v", d, err)
	}
	if h, err := s.History(ctx, sb, fhirstore.HistoryQuery{Type: "Patient", ID: "p1", Count: 10}); err != nil || h.Total != 2 {
		t.Fatalf("history after double delete: %+v %v", h, err)
	}
}

func testResurrect(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	s.Update(ctx, sb, Patient(t, "p1", "A"), fhirstore.UpdateOptions{})
	s.Delete(ctx, sb, "Patient", "p1")
	r, created, err := s.Update(ctx, sb, Patient(t, "p1", "B"), fhirstore.UpdateOptions{})
	if err != nil || !created || r.Version != 3 {
		t.Fatalf("update after delete: %+v created=%v %v", r, created, err)
	}
	if cur, err := s.Read(ctx, sb, "Patient", "p1"); err != nil || family(t, cur) != "B" {
		t.Fatalf("read after re-create: %v", err)
	}
}

func testVReadUnknown(t *testing.T, s fhirstore.Store, c *Clock) {
	ctx := context.Background()
	s.Update(ctx, sb, Patient(t, "p1", "A"), fhirstore.UpdateOptions{})
	for _, v := range []int64{0, 2, -1} {
		if _, err := s.VRead(ctx, sb, "Patient", "p1", v); !errors.Is(err, fhirstore.ErrNotFound) {
			t.Errorf("vread version %d: %v", v, err)
		}
	}
}
