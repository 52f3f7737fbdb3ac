package exportjobs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"hpsandbox/fhirstore/bulkexport"
	"hpsandbox/internal/testpg"
)

// backends are the stores every test of the suite runs against.
var backends = []struct {
	name string
	open func(t *testing.T) Store
}{
	{"memory", func(t *testing.T) Store {
		return NewMemory(filepath.Join(t.TempDir(), "exports"))
	}},
	{"sqlite", func(t *testing.T) Store {
		s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "exports.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
	{"postgres", func(t *testing.T) Store {
		s, err := OpenPostgres(context.Background(), testpg.Start(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

func eachStore(t *testing.T, f func(t *testing.T, st Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			t.Cleanup(func() { st.Close() })
			f(t, st)
		})
	}
}

func newJob(id, sandbox, owner string) *Job {
	now := time.Now()
	return &Job{ID: id, Sandbox: sandbox, Request: "http://127.0.0.1/fhir/$export", State: Running, Owner: owner,
		Heartbeat: now, Created: now, Expires: now.Add(24 * time.Hour)}
}

func writeFile(t *testing.T, st Store, id, name string, data []byte) {
	t.Helper()
	w, err := st.CreateFile(context.Background(), id, name)
	if err != nil {
		t.Fatal(err)
	}
	// In uneven pieces, as a buffered writer hands them over.
	for len(data) > 0 {
		k := min(len(data), 70_001)
		if _, err := w.Write(data[:k]); err != nil {
			t.Fatal(err)
		}
		data = data[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(st Store, id, name string) ([]byte, int64, error) {
	r, size, err := st.OpenFile(context.Background(), id, name)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return b, size, err
}

func TestStore_JobOfItsSandboxOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		j := newJob("j1", "s1", "gw-a")
		if err := st.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		got, err := st.Job(ctx, "s1", "j1")
		if err != nil || got.State != Running || got.Request != j.Request || got.Owner != "gw-a" || !got.Heartbeat.Equal(ms(j.Heartbeat)) {
			t.Fatalf("Job: %+v, %v", got, err)
		}
		for _, c := range []struct{ sandbox, id string }{{"s2", "j1"}, {"s1", "guessed"}, {"s1", "../j1"}, {"", "j1"}} {
			if _, err := st.Job(ctx, c.sandbox, c.id); !errors.Is(err, ErrNotFound) {
				t.Errorf("Job(%q, %q): %v, want ErrNotFound", c.sandbox, c.id, err)
			}
		}
		if err := st.Delete(ctx, "s2", "j1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete of another sandbox's job: %v, want ErrNotFound", err)
		}
		if _, err := st.Job(ctx, "s1", "j1"); err != nil {
			t.Errorf("after another sandbox's Delete: %v", err)
		}
	})
}

func TestStore_SaveOnlyByTheRunningOwner(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		j := newJob("j1", "s1", "gw-a")
		if err := st.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		other := *j
		other.Owner, other.TypesDone = "gw-b", 9
		if err := st.Save(ctx, &other); !errors.Is(err, ErrNotFound) {
			t.Errorf("Save by another owner: %v, want ErrNotFound", err)
		}
		j.TypesDone, j.TypesAll, j.Heartbeat = 1, 3, j.Heartbeat.Add(time.Second)
		if err := st.Save(ctx, j); err != nil {
			t.Fatal(err)
		}
		j.State, j.TypesDone, j.TransactionTime = Done, 3, time.Now()
		j.Files = []bulkexport.File{{Type: "Patient", Name: "Patient.ndjson", Count: 2}}
		if err := st.Save(ctx, j); err != nil {
			t.Fatal(err)
		}
		got, err := st.Job(ctx, "s1", "j1")
		if err != nil || got.State != Done || got.TypesDone != 3 || got.TypesAll != 3 || len(got.Files) != 1 || got.Files[0] != j.Files[0] ||
			!got.TransactionTime.Equal(ms(j.TransactionTime)) {
			t.Fatalf("after Save: %+v, %v", got, err)
		}
		if err := st.Save(ctx, j); !errors.Is(err, ErrNotFound) {
			t.Errorf("Save of a finished job: %v, want ErrNotFound", err)
		}
	})
}

// A job whose owner stopped beating is given up once, by whoever saw the
// beat that stopped; a beat in between keeps it running.
func TestStore_AbandonOnlyAtTheBeatSeen(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		j := newJob("j1", "s1", "gw-a")
		if err := st.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		seen := j.Heartbeat
		j.Heartbeat = seen.Add(time.Second)
		if err := st.Save(ctx, j); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.Abandon(ctx, "j1", seen, "x", time.Now().Add(time.Hour)); ok || err != nil {
			t.Errorf("Abandon at an old beat: %v, %v; want not done", ok, err)
		}
		if ok, err := st.Abandon(ctx, "j1", j.Heartbeat, "the gateway stopped", time.Now().Add(time.Hour)); !ok || err != nil {
			t.Fatalf("Abandon at the last beat: %v, %v", ok, err)
		}
		if ok, _ := st.Abandon(ctx, "j1", j.Heartbeat, "again", time.Now().Add(time.Hour)); ok {
			t.Error("a job given up twice")
		}
		got, err := st.Job(ctx, "s1", "j1")
		if err != nil || got.State != Failed || got.Error != "the gateway stopped" {
			t.Fatalf("after Abandon: %+v, %v", got, err)
		}
		if err := st.Save(ctx, j); !errors.Is(err, ErrNotFound) {
			t.Errorf("the old owner's Save after Abandon: %v, want ErrNotFound", err)
		}
	})
}

func TestStore_FilesInChunks(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		if err := st.Create(ctx, newJob("j1", "s1", "gw-a")); err != nil {
			t.Fatal(err)
		}
		big := bytes.Repeat([]byte(`{"resourceType":"Observation","id":"x"}`+"\n"), 3*ChunkBytes/40+7)
		writeFile(t, st, "j1", "Observation.ndjson", big)
		writeFile(t, st, "j1", "Patient.ndjson", []byte("{}\n"))
		got, size, err := readFile(st, "j1", "Observation.ndjson")
		if err != nil || !bytes.Equal(got, big) || size != int64(len(big)) {
			t.Fatalf("read back %d bytes (size %d), %v; want %d", len(got), size, err, len(big))
		}
		// Written again, a file starts over.
		writeFile(t, st, "j1", "Patient.ndjson", []byte("{\"a\":1}\n"))
		if got, _, err := readFile(st, "j1", "Patient.ndjson"); err != nil || string(got) != "{\"a\":1}\n" {
			t.Errorf("rewritten: %q, %v", got, err)
		}
		for _, name := range []string{"Encounter.ndjson", "../j1/Patient.ndjson", "", ".."} {
			if _, _, err := readFile(st, "j1", name); !errors.Is(err, ErrNotFound) {
				t.Errorf("OpenFile(%q): %v, want ErrNotFound", name, err)
			}
		}
		if _, _, err := readFile(st, "j2", "Patient.ndjson"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a file of another job: %v, want ErrNotFound", err)
		}
		if err := st.Delete(ctx, "s1", "j1"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := readFile(st, "j1", "Patient.ndjson"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a file of a deleted job: %v, want ErrNotFound", err)
		}
		if err := st.Delete(ctx, "s1", "j1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete again: %v, want ErrNotFound", err)
		}
	})
}

func TestStore_SweepRemovesExpiredJobsAndStrayFiles(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		old, live := newJob("old", "s1", "gw-a"), newJob("live", "s1", "gw-a")
		old.Expires = time.Now().Add(-time.Minute)
		for _, j := range []*Job{old, live} {
			if err := st.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
			writeFile(t, st, j.ID, "Patient.ndjson", []byte("{}\n"))
		}
		// What a runner wrote after its job was deleted.
		writeFile(t, st, "deleted", "Patient.ndjson", []byte("{}\n"))
		if _, err := st.Job(ctx, "s1", "old"); !errors.Is(err, ErrNotFound) {
			t.Errorf("an expired job before the sweep: %v, want ErrNotFound", err)
		}
		n, err := st.Sweep(ctx, time.Now())
		if err != nil || n != 1 {
			t.Fatalf("Sweep: %d, %v; want 1", n, err)
		}
		for _, id := range []string{"old", "deleted"} {
			if _, _, err := readFile(st, id, "Patient.ndjson"); !errors.Is(err, ErrNotFound) {
				t.Errorf("file of %s after the sweep: %v, want ErrNotFound", id, err)
			}
		}
		if _, _, err := readFile(st, "live", "Patient.ndjson"); err != nil {
			t.Errorf("file of a live job after the sweep: %v", err)
		}
		if _, err := st.Job(ctx, "s1", "live"); err != nil {
			t.Errorf("a live job after the sweep: %v", err)
		}
	})
}
