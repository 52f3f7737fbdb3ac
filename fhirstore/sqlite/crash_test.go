package sqlite_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fhirstore/storetest"
)

// crashChildEnv names the data directory of the writer process that
// TestCrash_KillNineLosesNoAcknowledgedWrite kills.
const crashChildEnv = "HPS_CRASH_CHILD_DIR"

// A process killed with SIGKILL while writing loses no write it
// acknowledged and leaves no transaction half written: every create it
// answered (each by group commit) is there after reopening, and of every
// five-resource transaction either all five resources are there or none.
func TestCrash_KillNineLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a writer process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash_WriterChild$", "-test.v")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	ackedTx := map[int]bool{}
	maxTx := -1
	sc := bufio.NewScanner(out)
	// The kill comes after 600 acknowledged creates, or after 8 s once at
	// least 100 creates and 5 transactions were acknowledged; a machine
	// too loaded for that within 90 s fails the test below.
	soon := time.After(8 * time.Second)
	deadline := time.After(90 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
read:
	for len(acked) < 600 {
		select {
		case l, ok := <-lines:
			if !ok {
				break read
			}
			var k int
			switch {
			case strings.HasPrefix(l, "ack "):
				acked[strings.TrimPrefix(l, "ack ")] = true
			case strings.HasPrefix(l, "begin-tx "):
				fmt.Sscanf(l, "begin-tx %d", &k)
				maxTx = max(maxTx, k)
			case strings.HasPrefix(l, "ack-tx "):
				fmt.Sscanf(l, "ack-tx %d", &k)
				ackedTx[k] = true
			}
		case <-soon:
			soon = nil
		case <-deadline:
			break read
		}
		if soon == nil && len(acked) >= 100 && len(ackedTx) >= 5 {
			break read
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for l := range lines { // what was written before the kill still counts
		var k int
		switch {
		case strings.HasPrefix(l, "ack "):
			acked[strings.TrimPrefix(l, "ack ")] = true
		case strings.HasPrefix(l, "ack-tx "):
			fmt.Sscanf(l, "ack-tx %d", &k)
			ackedTx[k] = true
		}
	}
	_ = cmd.Wait()
	if len(acked) < 100 || len(ackedTx) < 5 {
		t.Fatalf("the writer acknowledged only %d creates and %d transactions before the kill", len(acked), len(ackedTx))
	}

	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	for id := range acked {
		if _, err := s.Read(ctx, "default", "Patient", id); err != nil {
			t.Errorf("acknowledged create %s lost: %v", id, err)
		}
	}
	for k := 0; k <= maxTx; k++ {
		n := 0
		for j := 0; j < 5; j++ {
			_, err := s.Read(ctx, "default", "Patient", fmt.Sprintf("t%d-%d", k, j))
			if err == nil {
				n++
			} else if !errors.Is(err, fhirstore.ErrNotFound) {
				t.Fatal(err)
			}
		}
		if n != 0 && n != 5 {
			t.Errorf("transaction %d is half written: %d of 5 resources", k, n)
		}
		if ackedTx[k] && n != 5 {
			t.Errorf("acknowledged transaction %d lost", k)
		}
	}
	t.Logf("%d acknowledged creates and %d acknowledged transactions survived the kill", len(acked), len(ackedTx))
}

// TestCrash_WriterChild is the writer process of the kill test; it does
// nothing unless started by it.
func TestCrash_WriterChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("the writer process of TestCrash_KillNineLosesNoAcknowledgedWrite")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	var next sync.Mutex
	txn := 0
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				if w%4 == 0 { // a quarter of the writers run transactions
					next.Lock()
					n := txn
					txn++
					next.Unlock()
					say("begin-tx %d", n)
					err := s.Tx(ctx, func(tx fhirstore.Tx) error {
						for j := 0; j < 5; j++ {
							if _, err := tx.Create(ctx, "default", storetest.Patient(t, "", "Tx"), fmt.Sprintf("t%d-%d", n, j)); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
					say("ack-tx %d", n)
					continue
				}
				id := fmt.Sprintf("w%d-%d", w, k)
				if _, err := s.Create(ctx, "default", storetest.Patient(t, "", "Single"), id); err != nil {
					t.Error(err)
					return
				}
				say("ack %s", id)
			}
		}()
	}
	wg.Wait()
}
