package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/app"
	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/internal/pgcluster"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/postgres"
)

// Options configures the dev stack.
type Options struct {
	// DataDir holds the PostgreSQL cluster, the Temporal SQLite file, the
	// lock and dev-keys.env (".data").
	DataDir string
	// StripeMock is the stripe-mock binary, used when STRIPE_SECRET_KEY is
	// not set.
	StripeMock string
	// PostgresPort is the project-local cluster's port.
	PostgresPort int
	// TemporalAddress is where the embedded Temporal server listens, when
	// not TEMPORAL_ADDRESS's default ("" keeps it; tests pick free ports).
	TemporalAddress string
	// TemporalUIWriteActions turns the Temporal UI's write actions on
	// (terminate, reset, ...), for an operator who needs them.
	TemporalUIWriteActions bool
	Logger                 *slog.Logger
	// Out receives the start-up banner.
	Out io.Writer
}

// Run brings the whole product up and blocks until ctx ends, then stops
// every part it started, in order.
func Run(ctx context.Context, o Options) error {
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return err
	}
	unlock, err := lockDataDir(o.DataDir)
	if err != nil {
		return err
	}
	defer unlock()

	// Configuration comes from the environment exactly as in production;
	// the stack only fills in what it provides itself.
	_, temporalGiven := os.LookupEnv("TEMPORAL_ADDRESS")
	cfg, err := config.Parse()
	if err != nil {
		return err
	}
	log := o.Logger

	if cfg.DatabaseURL == "" {
		pg, err := pgcluster.New(filepath.Join(o.DataDir, "pg"), o.PostgresPort)
		if err != nil {
			return err
		}
		if cfg.DatabaseURL, err = pg.Up(ctx, "refundflow"); err != nil {
			return err
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := pg.Stop(ctx, "fast"); err != nil {
				log.Error("stop postgres", "error", err)
			}
		}()
	}
	if _, err := postgres.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	var temporalUI string
	if !temporalGiven {
		if o.TemporalAddress != "" {
			cfg.TemporalAddress = o.TemporalAddress
		}
		ui, err := hostPort(cfg.TemporalUIURL)
		if err != nil {
			return err
		}
		srv, err := StartTemporal(ctx, TemporalOptions{
			DBFile:         filepath.Join(o.DataDir, "temporal.db"),
			Address:        cfg.TemporalAddress,
			UIAddress:      ui,
			UIWriteActions: o.TemporalUIWriteActions,
			Namespace:      cfg.TemporalNamespace,
			Logger:         log,
		})
		if err != nil {
			return err
		}
		defer srv.Stop()
		temporalUI = cfg.TemporalUIURL
	}

	if cfg.StripeSecretKey == "" {
		addr, stop, err := startStripeMock(o)
		if err != nil {
			return err
		}
		defer stop()
		cfg.StripeSecretKey = "sk_test_123" // stripe-mock accepts only test keys of this shape
		cfg.StripeAPIBase = "http://" + addr
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := seedDemo(ctx, a.DB, time.Now()); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	keys, err := ensureDevKeys(ctx, a.DB, filepath.Join(o.DataDir, "dev-keys.env"), cfg.DatabaseURL)
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	apiReady := make(chan string, 1)
	g.Go(func() error { return a.RunWorker(gctx) })
	g.Go(func() error { return a.RunAPI(gctx, func(addr string) { apiReady <- addr }) })
	select {
	case addr := <-apiReady:
		printBanner(o.Out, bannerInfo{
			API: "http://" + addr, TemporalUI: temporalUI, TemporalAddress: cfg.TemporalAddress,
			DatabaseURL: cfg.DatabaseURL, Stripe: cfg.StripeAPIBase, KeysFile: filepath.Join(o.DataDir, "dev-keys.env"), Keys: keys,
		})
	case <-gctx.Done():
	}
	err = g.Wait()
	log.Info("dev stack stopping")
	return err
}

// startStripeMock runs stripe-mock on a loopback port. It dies with us
// (Pdeathsig) even if the stack is killed with SIGKILL.
func startStripeMock(o Options) (addr string, stop func(), err error) {
	if o.StripeMock == "" {
		return "", nil, errors.New("STRIPE_SECRET_KEY is not set and no stripe-mock binary was given (make dev builds bin/stripe-mock)")
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		return "", nil, err
	}
	tlsPort, err := pgcluster.FreePort()
	if err != nil {
		return "", nil, err
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// Both listeners on loopback: left alone, stripe-mock also serves HTTPS
	// on every interface.
	cmd := exec.Command(o.StripeMock, "-http-addr", addr, "-https-addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	logFile, err := os.Create(filepath.Join(o.DataDir, "stripe-mock.log"))
	if err != nil {
		return "", nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return "", nil, fmt.Errorf("start stripe-mock: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
	}
	if err := waitForPort(addr, 20*time.Second); err != nil {
		stop()
		return "", nil, fmt.Errorf("stripe-mock did not start (see %s): %w", logFile.Name(), err)
	}
	return addr, stop, nil
}

// lockDataDir makes sure only one dev stack uses the data directory; the
// lock dies with the process, so a killed stack never blocks the next one.
func lockDataDir(dir string) (func(), error) {
	path := filepath.Join(dir, "dev.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := io.ReadAll(f)
		f.Close()
		return nil, fmt.Errorf("another dev stack is already running on %s (pid %s); stop it first (Ctrl-C in its terminal)", dir, strings.TrimSpace(string(pid)))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}

func waitForPort(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hostPort(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("TEMPORAL_UI_URL %q is not a URL", rawURL)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "80"), nil
	}
	return u.Host, nil
}

// ensureDevKeys makes one key per role and records them in dev-keys.env
// (SPEC 2). Keys from an earlier run are kept while they still work.
func ensureDevKeys(ctx context.Context, db *postgres.DB, path, databaseURL string) (map[refundflow.Role]string, error) {
	keys := map[refundflow.Role]string{}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			name, value, ok := strings.Cut(sc.Text(), "=")
			if !ok || !strings.HasPrefix(name, "REFUNDFLOW_KEY_") {
				continue
			}
			role := refundflow.Role(strings.ToLower(strings.TrimPrefix(name, "REFUNDFLOW_KEY_")))
			if k, err := db.Authenticate(ctx, value); err == nil && k.Role == role {
				keys[role] = value
			}
		}
		f.Close()
	}
	for _, role := range refundflow.Roles {
		if keys[role] != "" {
			continue
		}
		var limits map[money.Currency]int64
		if role == refundflow.RoleApprover {
			// Low enough that the demo shows a case needing two approvers.
			limits = map[money.Currency]int64{"CNY": 500000, "USD": 80000}
		}
		_, secret, err := db.CreateAPIKey(ctx, "dev-"+string(role), role, limits)
		if err != nil {
			return nil, err
		}
		keys[role] = secret
	}
	var b strings.Builder
	for _, role := range refundflow.Roles {
		fmt.Fprintf(&b, "REFUNDFLOW_KEY_%s=%s\n", strings.ToUpper(string(role)), keys[role])
	}
	fmt.Fprintf(&b, "DATABASE_URL=%s\n", databaseURL)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	return keys, nil
}
