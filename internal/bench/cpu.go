package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuMeter reads the CPU time this process (Temporal server, API, worker,
// load drivers) and the PostgreSQL cluster have used. The machine may be
// shared: CPU time per workflow says what a workflow costs whatever else
// runs, where throughput alone cannot.
type cpuMeter struct {
	pgData string // the cluster's data directory (postmaster.pid)
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTick = 100

// cpuReading is CPU seconds used so far: this process's and PostgreSQL's.
type cpuReading struct{ own, postgres float64 }

func (m cpuMeter) read() cpuReading {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return cpuReading{own: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), postgres: m.postgres()}
}

// CPUUse is the CPU time a measurement used, per item.
type CPUUse struct {
	// MsPerItem is this process's and PostgreSQL's CPU time per item;
	// PostgresMsPerItem the part of it PostgreSQL used.
	MsPerItem         float64 `json:"cpu_ms"`
	PostgresMsPerItem float64 `json:"postgres_cpu_ms"`
	// CoresBusy is the cores they kept busy on average.
	CoresBusy float64 `json:"cores_busy"`
}

func (r cpuReading) since(before cpuReading, items int, elapsed time.Duration) CPUUse {
	total := r.own + r.postgres - before.own - before.postgres
	return CPUUse{
		MsPerItem: total * 1000 / float64(max(items, 1)), PostgresMsPerItem: (r.postgres - before.postgres) * 1000 / float64(max(items, 1)),
		CoresBusy: total / elapsed.Seconds(),
	}
}

// postgres sums the postmaster's CPU time, its exited children's, and its
// live backends'.
func (m cpuMeter) postgres() float64 {
	b, err := os.ReadFile(filepath.Join(m.pgData, "postmaster.pid"))
	if err != nil {
		return 0
	}
	postmaster := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, d := range dirs {
		stat, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces) in parentheses.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		pid := strings.TrimSpace(s[:strings.IndexByte(s, '(')])
		f := strings.Fields(s[i+1:]) // f[0] is state (field 3): field n is f[n-3]
		if len(f) < 15 {
			continue
		}
		isPostmaster := pid == postmaster
		if !isPostmaster && f[1] != postmaster {
			continue
		}
		n := []int{14, 15}
		if isPostmaster {
			n = append(n, 16, 17)
		}
		for _, k := range n {
			v, _ := strconv.ParseInt(f[k-3], 10, 64)
			ticks += v
		}
	}
	return float64(ticks) / clockTick
}
