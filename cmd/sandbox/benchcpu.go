package main

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// The bench table's server CPU per request: the CPU time (user and
// system) the sandbox's process used during a workload, divided by the
// requests it answered. On a machine whose speed changes from minute to
// minute (a shared VM) it varies far less than requests per second, so it
// is the figure to compare two builds by. It is known when the sandbox
// runs in a process of its own whose id bench knows: the child it starts,
// or a running sandbox named with --target-pid.

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux ABI).
const userHZ = 100

// procCPU is the CPU time process pid has used, from /proc/PID/stat;
// false where there is no such file (another system, an ended process).
func procCPU(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	return parseProcStat(b)
}

// parseProcStat reads utime and stime from the text of /proc/PID/stat:
// the 14th and 15th fields, counted after the command name in
// parentheses, which may itself hold spaces and parentheses.
func parseProcStat(b []byte) (time.Duration, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:]) // state is f[0], the 3rd field
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 63)
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 63)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * (time.Second / userHZ), true
}

// cpuMeter measures a process's CPU time over a stretch of work.
type cpuMeter struct {
	pid   int
	start time.Duration
	ok    bool
}

func startCPU(pid int) cpuMeter {
	c, ok := procCPU(pid)
	return cpuMeter{pid: pid, start: c, ok: ok}
}

// used is the CPU time since startCPU, or false when it is not known.
func (m cpuMeter) used() (time.Duration, bool) {
	if !m.ok {
		return 0, false
	}
	c, ok := procCPU(m.pid)
	if !ok || c < m.start {
		return 0, false
	}
	return c - m.start, true
}

// perRequest is cpu over n requests, 0 (shown as -) when either is unknown.
func perRequest(cpu time.Duration, known bool, n int) time.Duration {
	if !known || n == 0 {
		return 0
	}
	return cpu / time.Duration(n)
}
