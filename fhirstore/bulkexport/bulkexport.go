// Package bulkexport writes the resources of a sandbox as NDJSON files, one
// per resource type, for the FHIR Bulk Data Access export operation at
// system, Patient and Group level. It does the work of one export job,
// writing the files to an Output (a directory, or the rows of a shared job
// store); the gateway owns the jobs, their status and their files' URLs.
package bulkexport

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/searchparam"
)

// Level is the scope of an export.
type Level int

// Export levels.
const (
	System  Level = iota // every resource of the sandbox
	Patient              // the compartments of every Patient
	Group                // the compartments of a Group's member Patients
)

// Request says what to export.
type Request struct {
	Level Level
	// Group is the Group's id at Group level.
	Group string
	// Types restricts the export (_type); empty means every type the level
	// covers.
	Types []string
	// Since keeps resources last updated at or after it (_since).
	Since time.Time
	// Base is the sandbox's FHIR base URL, for absolute references.
	Base string
}

// File is one written NDJSON file.
type File struct {
	Type  string `json:"type"`
	Name  string `json:"name"` // the file's name in the Output
	Count int    `json:"count"`
}

// Output takes an export's files. An export creates a file only for a
// type with resources, writes it in order and closes it; an error of
// Close fails the export.
type Output interface {
	Create(ctx context.Context, name string) (io.WriteCloser, error)
}

// Dir is an Output of files in a directory, which it creates.
type Dir string

// Create implements Output.
func (d Dir) Create(_ context.Context, name string) (io.WriteCloser, error) {
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		return nil, err
	}
	return os.Create(filepath.Join(string(d), name))
}

// Result is what an export wrote.
type Result struct {
	TransactionTime time.Time
	Files           []File
}

// ErrGroupNotFound reports a Group-level export of an unknown Group.
var ErrGroupNotFound = errors.New("bulkexport: group not found")

const page = 1000

// Run exports into dir (which it creates) and reports progress after each
// type as (types done, types in all).
func Run(ctx context.Context, r fhirstore.Reader, sandbox string, req Request, dir string, progress func(done, total int)) (*Result, error) {
	return Export(ctx, r, sandbox, req, Dir(dir), progress)
}

// Export exports into out and reports progress after each type as (types
// done, types in all).
func Export(ctx context.Context, r fhirstore.Reader, sandbox string, req Request, out Output, progress func(done, total int)) (*Result, error) {
	res := &Result{TransactionTime: time.Now().UTC()}
	types, err := typesFor(req)
	if err != nil {
		return nil, err
	}
	var patients map[string]bool // nil: every patient
	if req.Level == Group {
		if patients, err = groupMembers(ctx, r, sandbox, req.Group); err != nil {
			return nil, err
		}
	}
	for i, typ := range types {
		f, err := exportType(ctx, r, sandbox, req, typ, patients, out)
		if err != nil {
			return nil, fmt.Errorf("exporting %s: %w", typ, err)
		}
		if f != nil {
			res.Files = append(res.Files, *f)
		}
		if progress != nil {
			progress(i+1, len(types))
		}
	}
	return res, nil
}

// typesFor lists the types to visit: the request's, or the level's.
func typesFor(req Request) ([]string, error) {
	var all []string
	for _, t := range fhirjson.Types() {
		if req.Level == System || t == "Patient" || len(searchparam.PatientCompartment(t)) > 0 {
			all = append(all, t)
		}
	}
	if len(req.Types) == 0 {
		return all, nil
	}
	for _, t := range req.Types {
		if !slices.Contains(all, t) {
			return nil, fmt.Errorf("bulkexport: %q is not a type this export level covers", t)
		}
	}
	return req.Types, nil
}

func groupMembers(ctx context.Context, r fhirstore.Reader, sandbox, id string) (map[string]bool, error) {
	g, err := r.Read(ctx, fhirstore.Sandbox(sandbox), "Group", id)
	if err != nil {
		return nil, fmt.Errorf("%w: Group/%s: %v", ErrGroupNotFound, id, err)
	}
	var body struct {
		Member []struct {
			Entity struct{ Reference string } `json:"entity"`
		} `json:"member"`
	}
	if err := json.Unmarshal(g.Body, &body); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range body.Member {
		if id, ok := strings.CutPrefix(m.Entity.Reference, "Patient/"); ok {
			out[id] = true
		}
	}
	return out, nil
}

// exportType writes typ's resources to typ.ndjson; nil when there were none.
func exportType(ctx context.Context, r fhirstore.Reader, sandbox string, req Request, typ string, patients map[string]bool, out Output) (f *File, err error) {
	name := typ + ".ndjson"
	var (
		file  io.WriteCloser
		w     *bufio.Writer
		count int
	)
	defer func() {
		if file == nil {
			return
		}
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			f = nil
		}
	}()
	for offset := 0; ; offset += page {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := r.Search(ctx, fhirstore.Sandbox(sandbox), fhirstore.SearchQuery{Type: typ, Count: page, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, v := range p.Matches {
			if !req.Since.IsZero() && v.LastUpdated.Before(req.Since) {
				continue
			}
			if req.Level != System {
				in, err := inCompartments(v, patients, req.Base)
				if err != nil {
					return nil, err
				}
				if !in {
					continue
				}
			}
			if file == nil {
				// Created at the first resource: a type without any
				// has no file.
				created, err := out.Create(ctx, name)
				if err != nil {
					return nil, err
				}
				file, w = created, bufio.NewWriterSize(created, 64<<10)
			}
			w.Write(v.Body)
			w.WriteByte('\n')
			count++
		}
		if len(p.Matches) < page {
			break
		}
	}
	if count == 0 {
		return nil, nil
	}
	return &File{Type: typ, Name: name, Count: count}, nil
}

// inCompartments reports whether v is in the compartment of any patient of
// the set, or of any patient at all when the set is nil.
func inCompartments(v *fhirstore.Resource, patients map[string]bool, base string) (bool, error) {
	var idx *searchparam.Index
	if v.Type != "Patient" {
		var err error
		if idx, err = searchparam.Extract(v.Type, v.Body); err != nil {
			return false, err
		}
	}
	for _, p := range searchparam.CompartmentPatients(v.Type, v.ID, idx, base) {
		if patients == nil || patients[p] {
			return true, nil
		}
	}
	return false, nil
}
