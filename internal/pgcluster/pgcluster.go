// Package pgcluster runs a project-local PostgreSQL cluster with the
// server's own tools (initdb, pg_ctl), for the dev stack and for tests.
//
// PostgreSQL refuses to run as root, so when the process is root the cluster
// is owned by and run as an unprivileged user ("postgres" when the Debian
// packages created it, otherwise "refundflow", created on first use).
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is one PostgreSQL data directory and the server that runs it. The
// socket directory lives inside Dir so nothing is written elsewhere.
type Cluster struct {
	Dir    string // holds data/, the socket and the log
	Port   int
	BinDir string
	// Ephemeral trades durability for speed (fsync off): for tests only.
	Ephemeral bool

	cred *syscall.Credential // nil when we are not root
}

// ErrNoBinaries is returned when the PostgreSQL server tools are not installed.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; " +
	"install them (Debian: apt-get install postgresql) or set DATABASE_URL to an existing server")

// FindBinDir returns the directory that holds initdb and pg_ctl: PATH first,
// then the newest /usr/lib/postgresql/<version>/bin.
func FindBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&0o111 != 0
}

// New describes a cluster in dir listening on 127.0.0.1:port. It does not
// touch the disk; call Init and Start.
func New(dir string, port int) (*Cluster, error) {
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: abs, Port: port, BinDir: bin}
	if os.Geteuid() == 0 {
		if c.cred, err = serverCredential(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }
func (c *Cluster) sockDir() string { return filepath.Join(c.Dir, "run") }
func (c *Cluster) logFile() string { return filepath.Join(c.Dir, "postgres.log") }

// Initialized reports whether Init has already created the data directory.
func (c *Cluster) Initialized() bool {
	_, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION"))
	return err == nil
}

// Init creates the data directory with initdb (superuser "postgres", trust
// authentication on loopback only). It is a no-op when it already exists.
func (c *Cluster) Init(ctx context.Context) error {
	if c.Initialized() {
		return nil
	}
	for _, d := range []string{c.Dir, c.sockDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := c.chown(d); err != nil {
			return err
		}
	}
	args := []string{"-D", c.dataDir(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"}
	if c.Ephemeral {
		args = append(args, "--no-sync")
	}
	if out, err := c.run(ctx, "initdb", args...); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// Running reports whether a server is running on this data directory (for
// example one left behind when the dev stack was killed).
func (c *Cluster) Running(ctx context.Context) bool {
	_, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "status")
	return err == nil
}

// Start starts the server and waits until it accepts connections. A server
// already running on the data directory is adopted.
func (c *Cluster) Start(ctx context.Context) error {
	if c.Running(ctx) {
		return c.waitReady(ctx)
	}
	opts := []string{
		"-p " + strconv.Itoa(c.Port),
		"-k " + c.sockDir(),
		"-c listen_addresses=127.0.0.1",
		"-c max_connections=200",
	}
	if c.Ephemeral {
		opts = append(opts, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", c.logFile(), "-w", "-t", "60", "-o", strings.Join(opts, " "), "start")
	if err != nil {
		return fmt.Errorf("pg_ctl start (log in %s): %w\n%s", c.logFile(), err, out)
	}
	return c.waitReady(ctx)
}

func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", c.Addr(), time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres on %s did not come up: %w", c.Addr(), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop shuts the server down: "fast" rolls back open transactions and
// leaves a clean data directory; "immediate" simulates a crash.
func (c *Cluster) Stop(ctx context.Context, mode string) error {
	if !c.Running(ctx) {
		return nil
	}
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", mode, "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Restart stops the server with the given mode and starts it again.
func (c *Cluster) Restart(ctx context.Context, mode string) error {
	if err := c.Stop(ctx, mode); err != nil {
		return err
	}
	return c.Start(ctx)
}

// Up brings up a cluster that keeps its data: initdb when the directory is
// new, the server, and database db unless it exists. It returns db's URL.
func (c *Cluster) Up(ctx context.Context, db string) (string, error) {
	if err := c.Init(ctx); err != nil {
		return "", err
	}
	if err := c.Start(ctx); err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
			return "", err
		}
	}
	return c.URL(db), nil
}

// Addr is host:port of the server.
func (c *Cluster) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)) }

// URL is a connection string for database db as the superuser.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", c.Addr(), db)
}

func (c *Cluster) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, tool), args...)
	cmd.Dir = c.Dir
	if _, err := os.Stat(c.Dir); err != nil {
		cmd.Dir = "/"
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	// pg_ctl's server outlives us by design (the dev stack adopts it after a
	// crash); its own session keeps our terminal's Ctrl-C away from it so
	// that shutdown happens in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: c.cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func (c *Cluster) chown(path string) error {
	if c.cred == nil {
		return nil
	}
	return os.Chown(path, int(c.cred.Uid), int(c.cred.Gid))
}

// serverCredential picks the unprivileged user that owns the cluster when we
// run as root.
func serverCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		u, err = user.Lookup("refundflow")
	}
	if err != nil {
		out, cerr := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "refundflow").CombinedOutput()
		if cerr != nil {
			return nil, fmt.Errorf("running as root and no unprivileged user for PostgreSQL; useradd refundflow: %w: %s", cerr, out)
		}
		if u, err = user.Lookup("refundflow"); err != nil {
			return nil, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// FreePort returns a free loopback TCP port for a server started later.
// It picks one below the kernel's ephemeral range, where the ports the
// kernel hands out — to other tests' "port 0" listeners, and to every
// outgoing connection — never land, so nothing takes it in the meantime
// but another FreePort that drew the same number (each draw is checked).
func FreePort() (int, error) {
	low := ephemeralLow()
	for range 100 {
		port := 10000 + rand.IntN(low-10000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range
// (Linux's default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				return n
			}
		}
	}
	return 32768
}
