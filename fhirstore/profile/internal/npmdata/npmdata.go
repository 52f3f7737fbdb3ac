// Package npmdata is what the profile package's generators share: unpacking
// an npm package of FHIR data, and writing generated data as gzip'd JSON
// that is byte-identical between runs.
package npmdata

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Unpack fetches the npm package pkg (name@version) with the npm client
// into tmp and returns the folder it unpacked to (tmp/package). hint says
// how to do without npm, for the error.
func Unpack(tmp, pkg, hint string) (string, error) {
	cmd := exec.Command("npm", "pack", "--silent", pkg)
	cmd.Dir = tmp
	name, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("npm pack %s: %v (install npm, or %s)", pkg, err, hint)
	}
	tgz := filepath.Join(tmp, strings.TrimSpace(string(name)))
	if err := exec.Command("tar", "-C", tmp, "-xzf", tgz).Run(); err != nil {
		return "", fmt.Errorf("unpack %s: %v", tgz, err)
	}
	return filepath.Join(tmp, "package"), nil
}

// WriteGzipJSON writes v as JSON, gzip'd at best compression with a zero
// modification time, so that the same data gives the same bytes, and
// reports the sizes on stderr.
func WriteGzipJSON(path string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	zw.ModTime = time.Time{}
	if _, err := zw.Write(raw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: %d bytes (%d uncompressed)\n", path, buf.Len(), len(raw))
	return nil
}
