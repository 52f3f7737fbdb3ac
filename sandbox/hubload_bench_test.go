package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hpsandbox/connectors/helseid/helseidtest"
	"hpsandbox/connectors/vkp"
	"hpsandbox/fixtures"
)

// alarmSender posts alarm Bundles to care-dev's hub as a registered
// HelseID client with a DPoP-bound token, each alarm with identifiers of
// its own.
type alarmSender struct {
	client *helseidtest.Client
	token  string
	url    string
	alarm  string
}

// alarmUUID is the identifier stem of the alarm in testdata, which each
// sent alarm replaces with one of its own.
const alarmUUID = "3f0c8a8e-1d2b-4c5e-9f60-7a8b9c0d1e0"

// newAlarmSender takes a token for client and sends the testdata alarm
// once as it is (registering its person and learning the DPoP nonce).
func newAlarmSender(ctx context.Context, client *helseidtest.Client, root string) (*alarmSender, error) {
	tok, err := client.Token(ctx, hubScopes)
	if err != nil {
		return nil, err
	}
	alarm, err := os.ReadFile(filepath.Join("..", "connectors", "vkp", "testdata", "alarm.json"))
	if err != nil {
		return nil, err
	}
	var orgnr string
	for _, m := range fixtures.Municipalities() {
		if m.Code == "5006" {
			orgnr = m.OrgNumber
		}
	}
	a := &alarmSender{client: client, token: tok.AccessToken, alarm: string(alarm),
		url: root + "/sandboxes/care-dev/connectors/vkp" + vkp.Base + "/" + orgnr + "/Bundle"}
	if status, err := a.post([]byte(a.alarm)); err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("the first alarm: status %d, %v", status, err)
	}
	return a, nil
}

// send posts the i-th alarm (i > 0) and returns the answer's status.
func (a *alarmSender) send(i int64) (int, error) {
	body := strings.ReplaceAll(a.alarm, alarmUUID, fmt.Sprintf("%08x-1d2b-4c5e-9f60-%011x", i, i))
	return a.post([]byte(body))
}

func (a *alarmSender) post(body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := a.client.Do(req, a.token)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// The load process of BenchmarkVKPAlarm_DPoP_LoadProcess: it registers a
// client, prints "ready", sends HPS_VKP_LOAD_N alarms from
// HPS_VKP_LOAD_CLIENTS goroutines once it reads a line, and prints "done",
// the alarms not answered 200 and its CPU time in nanoseconds.
func TestVKPAlarmLoad_Child(t *testing.T) {
	root := os.Getenv("HPS_VKP_LOAD_GATEWAY")
	if root == "" {
		t.Skip("runs as the load process of BenchmarkVKPAlarm_DPoP_LoadProcess")
	}
	n, _ := strconv.ParseInt(os.Getenv("HPS_VKP_LOAD_N"), 10, 64)
	clients, _ := strconv.Atoi(os.Getenv("HPS_VKP_LOAD_CLIENTS"))
	ctx := context.Background()
	client, err := registerHubClient(ctx, root, os.Getenv("HPS_VKP_LOAD_IAT"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAlarmSender(ctx, client, root)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cpu := cpuTime()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := next.Add(1); i <= n; i = next.Add(1) {
				if status, err := a.send(i); err != nil || status != http.StatusOK {
					if failed.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "alarm %d: status %d, %v\n", i, status, err)
					}
				}
			}
		})
	}
	wg.Wait()
	fmt.Println("done", failed.Load(), int64(cpuTime()-cpu))
}

// BenchmarkVKPAlarm_DPoP_LoadProcess is BenchmarkVKPAlarm_DPoP with its
// 128 clients in a process of their own (this test binary again, as
// TestVKPAlarmLoad_Child), as a supplier's system is another program: the
// gateway's process runs only the gateway. Both share the machine;
// cpu-ns/op is the CPU time of both per alarm.
//
//	go test -run '^$' -bench VKPAlarm_DPoP_LoadProcess -benchtime 5000x ./sandbox
func BenchmarkVKPAlarm_DPoP_LoadProcess(b *testing.B) {
	b.Cleanup(Defaults().TuneGC(os.Getenv))
	env, iat := newHubGateway(b)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestVKPAlarmLoad_Child$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "HPS_VKP_LOAD_GATEWAY="+env.srv.URL, "HPS_VKP_LOAD_IAT="+iat,
		"HPS_VKP_LOAD_N="+strconv.Itoa(b.N), "HPS_VKP_LOAD_CLIENTS=128")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	// Each line the child prints, until the one with prefix.
	await := func(prefix string) string {
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), prefix) {
				return lines.Text()
			}
		}
		b.Fatalf("the load process ended before %q", prefix)
		return ""
	}
	await("ready")
	gc := env.store.(interface {
		GroupCommits() (groups, writes uint64)
	})
	groups0, writes0 := gc.GroupCommits()
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		b.Fatal(err)
	}
	done := strings.Fields(await("done"))
	elapsed, serverCPU := time.Since(start), cpuTime()-cpu
	b.StopTimer()
	if len(done) != 3 || done[1] != "0" {
		b.Fatalf("the load process: %q", done)
	}
	loadCPU, _ := strconv.ParseInt(done[2], 10, 64)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "alarms/s")
	if groups, writes := gc.GroupCommits(); groups > groups0 {
		b.ReportMetric(float64(writes-writes0)/float64(groups-groups0), "writes/group")
	}
	b.ReportMetric(float64(serverCPU)/float64(b.N), "server-cpu-ns/op")
	b.ReportMetric(float64(int64(serverCPU)+loadCPU)/float64(b.N), "cpu-ns/op")
}
