package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/internal/pgcluster"
	"github.com/refundflow/refundflow/internal/proc"
)

// binaries are the programs the run starts.
type binaries struct {
	refundflow, stripefake, temporal string
}

// build compiles the three commands into dir (the build cache makes a
// second run quick).
func build(ctx context.Context, repoDir, dir string) (binaries, error) {
	b := binaries{
		refundflow: filepath.Join(dir, "refundflow"),
		stripefake: filepath.Join(dir, "stripefake"),
		temporal:   filepath.Join(dir, "refundflow-temporal"),
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
		"./cmd/refundflow", "./cmd/stripefake", "./cmd/refundflow-temporal")
	cmd.Dir = repoDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return b, fmt.Errorf("go build: %w\n%s", err, out)
	}
	return b, nil
}

func prebuilt(dir string) (binaries, error) {
	b := binaries{
		refundflow: filepath.Join(dir, "refundflow"),
		stripefake: filepath.Join(dir, "stripefake"),
		temporal:   filepath.Join(dir, "refundflow-temporal"),
	}
	for _, p := range []string{b.refundflow, b.stripefake, b.temporal} {
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("prebuilt binaries: %w", err)
		}
	}
	return b, nil
}

// findRepo walks up from the working directory to the module's go.mod.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/refundflow/refundflow\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("chaos: not inside the refundflow module; set RepoDir")
		}
		dir = parent
	}
}

// stack is the product as separate processes on loopback.
type stack struct {
	dir  string
	logf func(format string, args ...any)

	pg              *pgcluster.Cluster
	dbURL           string
	temporalAddress string
	temporal        *proc.Process
	stripe          *proc.Process
	apiProc         *proc.Process
	workers         []*proc.Process
	env             []string

	api      *api
	fake     *fake
	platform *platform
	mail     *mailSink
}

// Keys the run holds: the platform submits, two approvers decide (the one
// who rejected a case cannot decide its appeal), admin reads everything.
var keyHolders = []struct{ holder, role string }{
	{"platform", "platform"}, {"approver", "approver"}, {"approver2", "approver"}, {"admin", "admin"},
}

func startStack(ctx context.Context, cfg Config, dir string, bins binaries, logf func(string, ...any)) (_ *stack, err error) {
	s := &stack{dir: dir, logf: logf}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if err := s.startPostgres(ctx); err != nil {
		return s, err
	}
	webhookSecret, err := randomHex("whsec_chaos_")
	if err != nil {
		return s, err
	}
	platformSecret, err := randomHex("platform_chaos_")
	if err != nil {
		return s, err
	}
	if s.platform, err = startPlatform(platformSecret); err != nil {
		return s, err
	}
	if s.mail, err = startMailSink(); err != nil {
		return s, err
	}
	// Temporal first: its services take free ports of their own as it
	// starts, so the API's and the fake Stripe's are chosen once it is up.
	ports, err := freePorts(1)
	if err != nil {
		return s, err
	}
	temporalAddr := "127.0.0.1:" + strconv.Itoa(ports[0])
	s.temporalAddress = temporalAddr
	base := config.WithoutOwn(os.Environ())
	s.temporal = &proc.Process{Name: "temporal", Path: bins.temporal, Env: base, LogPath: filepath.Join(dir, "temporal.log"),
		Args: []string{"-address", temporalAddr, "-db", filepath.Join(dir, "temporal", "temporal.db")}}
	if err := s.temporal.Start(); err != nil {
		return s, err
	}
	if err := s.temporal.WaitForLine(ctx, temporalReady, 2*time.Minute); err != nil {
		return s, err
	}
	logf("temporal server up on %s", temporalAddr)

	if ports, err = freePorts(2); err != nil {
		return s, err
	}
	apiAddr := "127.0.0.1:" + strconv.Itoa(ports[0])
	stripeAddr := "127.0.0.1:" + strconv.Itoa(ports[1])

	// Configuration is SPEC 2's environment and nothing else.
	s.env = append(slices.Clip(base),
		"DATABASE_URL="+s.dbURL,
		"TEMPORAL_ADDRESS="+temporalAddr,
		"TEMPORAL_NAMESPACE=default",
		"HTTP_ADDR="+apiAddr,
		"STRIPE_SECRET_KEY=sk_test_chaos",
		"STRIPE_API_BASE=http://"+stripeAddr,
		"STRIPE_WEBHOOK_SECRET="+webhookSecret,
		"STRIPE_RATE_PER_SECOND=20",
		"PLATFORM_WEBHOOK_URL="+s.platform.url,
		"PLATFORM_WEBHOOK_SECRET="+platformSecret,
		"SMTP_URL="+s.mail.smtpURL(),
	)
	if _, err := runTool(ctx, s.env, bins.refundflow, "migrate", "up"); err != nil {
		return s, err
	}
	keys := map[string]string{}
	for _, k := range keyHolders {
		out, err := runTool(ctx, s.env, bins.refundflow, "keys", "create", "--role", k.role, "--name", "chaos-"+k.holder)
		if err != nil {
			return s, err
		}
		keys[k.holder] = strings.TrimSpace(out)
	}

	// Stripe's limit in test mode is 25 requests per second per endpoint;
	// the product holds itself to STRIPE_RATE_PER_SECOND below that.
	s.stripe = s.process("stripefake", bins.stripefake, "-addr", stripeAddr, "-rate", "25", "-api-key", "sk_test_chaos",
		"-webhook-url", "http://"+apiAddr+"/v1/webhooks/stripe", "-webhook-secret", webhookSecret,
		"-seed", strconv.FormatUint(cfg.Seed, 10))
	if err := s.stripe.Start(); err != nil {
		return s, err
	}
	if err := s.stripe.WaitForLine(ctx, "stripefake listening", time.Minute); err != nil {
		return s, err
	}
	s.fake = &fake{newHTTPJSON("http://" + stripeAddr)}

	s.apiProc = s.process("api", bins.refundflow, "api")
	if err := s.apiProc.Start(); err != nil {
		return s, err
	}
	s.api = &api{httpJSON: newHTTPJSON("http://" + apiAddr), keys: keys}
	if err := s.waitReady(ctx, 2*time.Minute); err != nil {
		return s, err
	}
	logf("api up on %s, stripe fake on %s", apiAddr, stripeAddr)

	for i := range cfg.Workers {
		w := s.process("worker-"+strconv.Itoa(i+1), bins.refundflow, "worker")
		if err := w.Start(); err != nil {
			return s, err
		}
		s.workers = append(s.workers, w)
	}
	for _, w := range s.workers {
		if err := w.WaitForLine(ctx, workersReady, 2*time.Minute); err != nil {
			return s, err
		}
	}
	logf("%d workers up", len(s.workers))
	return s, nil
}

// revive starts p again, as a supervisor would, and waits until this
// start says ready: a part that exits on the way up (one it needs is away,
// PostgreSQL restarting say) is started once more, a few times.
func (s *stack) revive(ctx context.Context, p *proc.Process, ready string) error {
	var err error
	for range 5 {
		if err = p.Start(); err != nil {
			return err
		}
		if err = p.WaitForLine(ctx, ready, 2*time.Minute); err == nil || p.Running() {
			return err
		}
		s.logf("%s exited on the way up; starting it again", p.Name)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return err
}

// Lines that say a part is up, in its log.
const (
	temporalReady = "temporal ready"
	apiReady      = "api listening"
	workersReady  = "workers started"
)

func (s *stack) process(name, path string, args ...string) *proc.Process {
	return &proc.Process{Name: name, Path: path, Args: args, Env: s.env, LogPath: filepath.Join(s.dir, name+".log")}
}

// startPostgres runs a durable cluster of the run's own: it is restarted
// as a crash would, so it must not lose what it committed (the test
// clusters trade that for speed) nor be shared with anything else.
func (s *stack) startPostgres(ctx context.Context) error {
	port, err := pgcluster.FreePort()
	if err != nil {
		return err
	}
	if s.pg, err = pgcluster.New(filepath.Join(s.dir, "pg"), port); err != nil {
		return err
	}
	if s.dbURL, err = s.pg.Up(ctx, "refundflow"); err != nil {
		return err
	}
	s.logf("postgres up on %s", s.pg.Addr())
	return nil
}

// waitReady waits for the API's readiness (PostgreSQL and Temporal
// reachable).
func (s *stack) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		status, err := s.api.do(ctx, "GET", "/readyz", nil, nil)
		if status == http.StatusOK {
			return nil
		}
		if !s.apiProc.Running() {
			return fmt.Errorf("the api exited; see %s", s.apiProc.LogPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the api was not ready within %s: %v", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop ends every process, workers first, and PostgreSQL last.
func (s *stack) stop() {
	for _, w := range s.workers {
		w.Stop(15 * time.Second)
	}
	for _, p := range []*proc.Process{s.apiProc, s.stripe, s.temporal} {
		if p != nil {
			p.Stop(15 * time.Second)
		}
	}
	if s.platform != nil {
		s.platform.close()
	}
	if s.mail != nil {
		s.mail.down()
	}
	if s.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.pg.Stop(ctx, "fast"); err != nil {
			s.logf("stop postgres: %v", err)
		}
	}
}

// freePorts returns n distinct free ports for the run's processes.
func freePorts(n int) ([]int, error) {
	var ports []int
	for len(ports) < n {
		p, err := pgcluster.FreePort()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

func randomHex(prefix string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b), nil
}
