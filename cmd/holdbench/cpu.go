package main

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CPU time of the server process and of holdbench itself, read at the start
// and at the end of each cell's measured window.

var (
	clkTckOnce sync.Once
	clkTck     int64 = 100
)

// clockTicks is the unit of /proc/<pid>/stat's utime and stime
// (sysconf(_SC_CLK_TCK), 100 on Linux).
func clockTicks() int64 {
	clkTckOnce.Do(func() {
		out, err := exec.Command("getconf", "CLK_TCK").Output()
		if err != nil {
			return
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			clkTck = n
		}
	})
	return clkTck
}

// procCPU is utime + stime of a process (all its threads) from
// /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after the last ')'. Field 3 (state) is then the first;
	// utime and stime are fields 14 and 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("/proc/<pid>/stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("/proc/<pid>/stat: too few fields")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / time.Duration(clockTicks()), nil
}

// selfCPU is holdbench's own user + system time (getrusage, microseconds).
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// cpuMeter measures the CPU a set of processes (pids > 0, summed) and
// holdbench spend over a window.
type cpuMeter struct {
	pids          []int
	srv0, self0   time.Duration
	srvOK, selfOK bool
}

func startCPU(pids ...int) *cpuMeter {
	m := &cpuMeter{}
	for _, p := range pids {
		if p > 0 {
			m.pids = append(m.pids, p)
		}
	}
	if len(m.pids) > 0 {
		t, err := procsCPU(m.pids)
		m.srv0, m.srvOK = t, err == nil
	}
	t, err := selfCPU()
	m.self0, m.selfOK = t, err == nil
	return m
}

func procsCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range pids {
		t, err := procCPU(p)
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

// stop returns the CPU spent since start; -1 for what was not measured.
func (m *cpuMeter) stop() (server, self time.Duration) {
	server, self = -1, -1
	if m.srvOK {
		if t, err := procsCPU(m.pids); err == nil {
			server = t - m.srv0
		}
	}
	if m.selfOK {
		if t, err := selfCPU(); err == nil {
			self = t - m.self0
		}
	}
	return server, self
}
