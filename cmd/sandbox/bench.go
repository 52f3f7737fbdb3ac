package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// benchCmd starts a sandbox in a child process on a free loopback port
// (or uses --target, which must be on loopback), drives it with the
// built-in load generator (loadgen.go) and prints one table row per
// workload: the figures the write-path issue names, reproducible by anyone.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "FHIR base of a running sandbox on loopback, e.g. http://127.0.0.1:8080/fhir (default: start one in a temporary directory)")
	duration := fs.Duration("duration", 5*time.Second, "how long each workload runs")
	patients := fs.Int("patients", 200, "generated patients the started sandbox is seeded with")
	only := fs.String("workloads", "", "comma-separated workloads to run (default: all): "+strings.Join(workloadNames(), ", "))
	// Profiles of the server's side, for those working on the gateway;
	// the usage text leaves them out. With either, the sandbox runs in
	// this process rather than a child, its goroutines labelled
	// side=server: go tool pprof -tagfocus side=server bin/sandbox cpu.out
	// keeps the gateway's samples apart from the load generator's.
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the workloads to `FILE` (the sandbox runs in this process, its goroutines labelled side=server)")
	// The bare handler of the read workload, in a child process
	// (startBare); not for people.
	bareFile := fs.String("serve-bare", "", "internal, started by bench itself: serve the answer in `FILE` as the bare handler of the read workload, in a process of its own")
	targetPID := fs.Int("target-pid", 0, "with --target: the id of the sandbox's process on this machine, so that the table shows its CPU time per request (read from /proc)")
	memProfile := fs.String("memprofile", "", "write an allocation profile to `FILE` and what preceded the workloads to FILE.base (go tool pprof -base FILE.base; the sandbox runs in this process)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bareFile != "" {
		return serveBare(ctx, *bareFile, stdout)
	}
	selected, err := selectWorkloads(*only)
	if err != nil {
		return err
	}
	base := strings.TrimRight(*target, "/")
	child := false // whether the sandbox runs in a child process
	pid := *targetPID
	if base == "" {
		var stop func()
		start := startBenchServer
		if *cpuProfile != "" || *memProfile != "" {
			start = startBenchServerHere
		} else {
			child = true
		}
		base, pid, stop, err = start(ctx, *patients, stderr)
		if err != nil {
			return err
		}
		defer stop()
	} else if err := loopbackOnly(base); err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128, DisableCompression: true}}
	env, err := prepareBench(ctx, client, base)
	if err != nil {
		return err
	}
	if child {
		if env.sandboxExe, err = os.Executable(); err != nil {
			return err
		}
	}
	env.serverPID = pid
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	if *memProfile != "" {
		// The profile counts from the start of the process: FILE.base
		// holds what seeding and preparing allocated, for pprof's -base.
		runtime.GC()
		writeAllocProfile(*memProfile+".base", stderr)
		defer writeAllocProfile(*memProfile, stderr)
	}
	fmt.Fprintf(stdout, "sandbox bench: %s, %d patients, %s per workload\n\n", base, len(env.patients), *duration)
	fmt.Fprintf(stdout, "%-34s %7s %10s %12s %9s %9s %7s %10s  %s\n", "workload", "clients", "requests/s", "resources/s", "p50", "p99", "errors", "cpu/req", "note")
	for _, w := range selected {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res, err := w.run(ctx, client, env, *duration)
		if err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
		for _, row := range res {
			fmt.Fprintln(stdout, row.String())
		}
	}
	return nil
}

// loopbackOnly refuses a target outside 127.0.0.0/8 and ::1: the load
// generator is for one's own machine.
func loopbackOnly(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--target %q: want a URL like http://127.0.0.1:8080/fhir", base)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--target %q: the load generator drives loopback addresses only (127.0.0.0/8, ::1)", base)
	}
	return nil
}

// startBenchServer runs `sandbox serve` from this executable in a
// temporary directory on a free loopback port and waits until it answers.
func startBenchServer(ctx context.Context, patients int, stderr io.Writer) (base string, pid int, stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	dir, err := os.MkdirTemp("", "sandbox-bench-")
	if err != nil {
		return "", 0, nil, err
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		os.RemoveAll(dir)
		return "", 0, nil, err
	}
	cmd := exec.Command(exe, "serve", "--addr", addr, "--data", dir,
		"--seed-patients", fmt.Sprint(patients), "--log-level", "warn")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", 0, nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	}
	base = "http://" + addr + "/fhir"
	deadline := time.Now().Add(5 * time.Minute) // the first start seeds
	for {
		resp, err := http.Get(base + "/metadata")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, cmd.Process.Pid, stop, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", 0, nil, errors.New("the sandbox started for the benchmark did not answer")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startBenchServerHere runs serve in this process, as startBenchServer
// runs it in a child, with its goroutines (and the connections' goroutines
// they start) labelled side=server in CPU profiles. Its pid is 0: this
// process's CPU time is the load generator's too.
func startBenchServerHere(ctx context.Context, patients int, stderr io.Writer) (base string, pid int, stop func(), err error) {
	dir, err := os.MkdirTemp("", "sandbox-bench-")
	if err != nil {
		return "", 0, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	ready, done := make(chan string, 1), make(chan error, 1)
	go pprof.Do(sctx, pprof.Labels("side", "server"), func(sctx context.Context) {
		done <- serve(sctx, []string{"--addr", "127.0.0.1:0", "--data", dir,
			"--seed-patients", fmt.Sprint(patients), "--log-level", "warn"}, os.Getenv, stderr, ready)
	})
	stop = func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	}
	select {
	case addr := <-ready:
		return "http://" + addr + "/fhir", 0, stop, nil
	case err := <-done:
		os.RemoveAll(dir)
		cancel()
		return "", 0, nil, fmt.Errorf("the sandbox started for the benchmark: %w", err)
	}
}

// writeAllocProfile writes the allocations since the process started
// into path.
func writeAllocProfile(path string, stderr io.Writer) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "sandbox bench: allocation profile: %v\n", err)
	}
}

// freeLoopbackAddr returns 127.0.0.1:port of a port free at the time of
// asking.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// benchEnv is what the workloads read: the server and ids to ask for.
type benchEnv struct {
	base     string
	patients []string
	families []string
	// readBody and readHeader are a stored Patient's answer, which the bare
	// handler serves for the read ratio.
	readBody   []byte
	readHeader http.Header
	// sandboxExe, when set, is the executable the sandbox runs from in a
	// child process; the bare handler runs from it too (startBare).
	sandboxExe string
	// serverPID is the sandbox's process when it is not this one (the
	// child, or --target-pid), whose CPU time the table shows; 0 if not.
	serverPID int
}

func prepareBench(ctx context.Context, client *http.Client, base string) (*benchEnv, error) {
	env := &benchEnv{base: base}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/Patient?_count=500&_elements=name", nil)
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b struct {
		Entry []struct {
			Resource struct {
				ID   string `json:"id"`
				Name []struct {
					Family string `json:"family"`
				} `json:"name"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("listing patients: status %d %v", resp.StatusCode, err)
	}
	for _, e := range b.Entry {
		env.patients = append(env.patients, e.Resource.ID)
		if len(e.Resource.Name) > 0 && e.Resource.Name[0].Family != "" {
			env.families = append(env.families, e.Resource.Name[0].Family)
		}
	}
	if len(env.patients) == 0 || len(env.families) == 0 {
		return nil, errors.New("the sandbox holds no patients with names to benchmark against")
	}
	resp2, err := client.Get(base + "/Patient/" + env.patients[0])
	if err != nil {
		return nil, err
	}
	defer resp2.Body.Close()
	if env.readBody, err = io.ReadAll(resp2.Body); err != nil {
		return nil, err
	}
	env.readHeader = resp2.Header.Clone()
	return env, nil
}

// observation is a heart-rate Observation of patient, as devices post them.
func observation(patient string, i int) []byte {
	return fmt.Appendf(nil, `{"resourceType":"Observation","status":"final",`+
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},`+
		`"subject":{"reference":"Patient/%s"},"effectiveDateTime":"2026-11-%02dT10:%02d:00+01:00",`+
		`"valueQuantity":{"value":%d,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`,
		patient, 1+i%28, i%60, 50+i%60)
}

// transaction is a transaction Bundle of n Observations.
func transaction(patient string, n, seed int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"fullUrl":"urn:uuid:00000000-0000-4000-8000-%012d","resource":%s,"request":{"method":"POST","url":"Observation"}}`,
			i, observation(patient, seed+i))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}
