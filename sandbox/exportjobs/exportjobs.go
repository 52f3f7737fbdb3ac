package exportjobs

import (
	"context"
	"errors"
	"io"
	"time"

	"hpsandbox/fhirstore/bulkexport"
)

// State is where a job stands.
type State string

// Job states.
const (
	Running State = "running"
	Done    State = "done"
	Failed  State = "failed"
)

// Job is one export job.
type Job struct {
	ID, Sandbox string
	// Request is the kick-off URL, as the manifest repeats it.
	Request string
	State   State
	// TypesDone of TypesAll are written.
	TypesDone, TypesAll int
	// TransactionTime is the export's, once done.
	TransactionTime time.Time
	// Error says why a Failed job failed.
	Error string
	// Files are the files of a Done job.
	Files []bulkexport.File
	// Owner names the gateway running the job; Heartbeat is when it last
	// said it still does.
	Owner     string
	Heartbeat time.Time
	Created   time.Time
	Expires   time.Time
}

// ErrNotFound: no such job (none by the id, another sandbox's, or
// expired), no such file of it, or, to Save, a job no longer the saver's
// to run.
var ErrNotFound = errors.New("exportjobs: no such job")

// Store keeps jobs and their files. Times are kept to the millisecond.
type Store interface {
	// Create stores a new job.
	Create(ctx context.Context, j *Job) error
	// Job returns sandbox's job id, ErrNotFound when there is none or it
	// expired.
	Job(ctx context.Context, sandbox, id string) (*Job, error)
	// Save writes j's state, progress, transaction time, error, files,
	// heartbeat and expiry over the stored job's, if it is still running
	// and j.Owner's; ErrNotFound otherwise.
	Save(ctx context.Context, j *Job) error
	// Abandon marks job id failed with reason, and to expire at expires,
	// if it is running and its heartbeat is still heartbeat (so that a
	// beat in between keeps it), and reports whether it did.
	Abandon(ctx context.Context, id string, heartbeat time.Time, reason string, expires time.Time) (bool, error)
	// CreateFile writes the file name of job id; the file is whole once
	// the writer closed without error.
	CreateFile(ctx context.Context, id, name string) (io.WriteCloser, error)
	// OpenFile returns the file name of job id and its size in bytes,
	// ErrNotFound when there is none. The caller has checked the job.
	OpenFile(ctx context.Context, id, name string) (io.ReadCloser, int64, error)
	// Delete removes sandbox's job id and its files; ErrNotFound when
	// there is none.
	Delete(ctx context.Context, sandbox, id string) error
	// Sweep removes the jobs that expired before now and their files,
	// and the files of jobs that are gone, and returns how many jobs.
	Sweep(ctx context.Context, now time.Time) (int, error)
	// Close releases the store.
	Close() error
}

// ms is t to the millisecond, as stores keep it.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// output is a job's files in a Store, as bulkexport writes them.
type output struct {
	st Store
	id string
}

// Output returns the Output that writes job id's files into st.
func Output(st Store, id string) bulkexport.Output { return output{st, id} }

func (o output) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	return o.st.CreateFile(ctx, o.id, name)
}
