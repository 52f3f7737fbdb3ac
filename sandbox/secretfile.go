package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writeSecretFile writes data to path (mode 0600, its directory made 0700
// if need be) so that no reader ever sees a part of it: it is written to a
// temporary file beside path, synced, and then published whole. With
// replace false an existing file is kept and fs.ErrExist returned (two
// gateways starting on one data directory agree on the first key written);
// with replace true it is replaced.
func writeSecretFile(path string, data []byte, replace bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		// A hard link publishes the file only if path does not exist yet.
		err = os.Link(tmp.Name(), path)
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fs.ErrExist
		}
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the new name survives a crash too
		d.Close()
	}
	return nil
}
