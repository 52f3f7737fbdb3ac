package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedDataIsCurrent: vkp-r4.json is what the generator makes from
// the guide, when the guide is at hand (HPS_VKP_R4 or beside the repository).
func TestCommittedDataIsCurrent(t *testing.T) {
	dir := os.Getenv("HPS_VKP_R4")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared", "specs", "vkp-r4")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no VKP R4 guide at %s (set HPS_VKP_R4)", dir)
	}
	b, err := os.ReadFile("../../no-basis-r4.json")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := generate(dir, bytes.Split(bytes.TrimSpace(b), []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../vkp-r4.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("vkp-r4.json is not what the generator makes from the guide: run go generate ./connectors/vkp/spec")
	}
}

// TestCommittedBasisIsCurrent: no-basis-r4.json is what the generator
// makes from the basis profiles, when they are at hand (HPS_NO_BASIS_R4).
func TestCommittedBasisIsCurrent(t *testing.T) {
	dir := os.Getenv("HPS_NO_BASIS_R4")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared", "specs", "no-basis-r4")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no basis profiles at %s (set HPS_NO_BASIS_R4)", dir)
	}
	lines, err := convertFiles(dir, basisFiles, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../no-basis-r4.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, joinLines(lines)) {
		t.Error("no-basis-r4.json is not what the generator makes from the basis profiles: run go generate ./connectors/vkp/spec")
	}
}
