package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"github.com/refundflow/refundflow/internal/pgcluster"
	"github.com/refundflow/refundflow/workflows"
)

// TemporalOptions configures an embedded Temporal server.
type TemporalOptions struct {
	// DBFile is the SQLite file; empty means an in-memory database that
	// disappears with the process (tests).
	DBFile string
	// Address is the frontend's host:port; empty picks a free loopback port.
	Address string
	// UIAddress is where the Temporal UI listens; empty means no UI.
	UIAddress string
	// UIWriteActions lets the UI change workflows (terminate, reset,
	// signal, update, start). Off, the UI reads every history and runs
	// queries but changes nothing: a case is moved through the API, whose
	// keys and rules apply.
	UIWriteActions bool
	Namespace      string
	Logger         *slog.Logger
	// SQLiteConns is the connection pool size (WAL allows readers beside the
	// one writer); 0 means 1.
	SQLiteConns int
	// Postgres, when set, keeps the server's data in PostgreSQL instead of
	// SQLite (DBFile and SQLiteConns are then unused).
	Postgres *TemporalPostgres
}

// Temporal is a running embedded Temporal server (frontend, history,
// matching and the internal worker in one process) and, optionally, its UI.
type Temporal struct {
	Address   string
	UIAddress string
	Namespace string
	server    temporal.Server
	ui        *uiserver.Server
	logLevel  *slog.LevelVar
}

// StartTemporal starts the server and returns once it accepts calls, with
// the namespace and every custom search attribute registered.
func StartTemporal(ctx context.Context, o TemporalOptions) (*Temporal, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	// The server logs a lot at info and complains while it shuts down;
	// warnings and errors are what a developer needs from it.
	level := &slog.LevelVar{}
	level.Set(slog.LevelWarn)
	o.Logger = slog.New(levelFilter{o.Logger.Handler(), level})
	if o.Address == "" {
		port, err := pgcluster.FreePort()
		if err != nil {
			return nil, err
		}
		o.Address = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	host, _, err := net.SplitHostPort(o.Address)
	if err != nil {
		return nil, fmt.Errorf("temporal address %q: %w", o.Address, err)
	}
	st, err := openStore(o)
	if err != nil {
		return nil, err
	}
	ns, err := sqliteschema.NewNamespaceConfig("active", o.Namespace, false, workflows.SearchAttributes())
	if err != nil {
		return nil, err
	}
	// CreateNamespaces writes through the generic SQL persistence layer, so
	// it serves PostgreSQL as well as SQLite.
	if err := sqliteschema.CreateNamespaces(st.main, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", o.Namespace, err)
	}

	cfg, err := serverConfig(o, host, st)
	if err != nil {
		return nil, err
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(cfg.Services[string(svc)].RPC.GRPCPort)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(slogLogger{o.Logger.With("component", "temporal-server")}),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		return nil, fmt.Errorf("build temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	t := &Temporal{Address: o.Address, Namespace: o.Namespace, server: srv, logLevel: level}
	if o.UIAddress != "" {
		if err := t.startUI(o); err != nil {
			srv.Stop()
			return nil, err
		}
	}
	return t, nil
}

// Stop stops the UI and the server.
func (t *Temporal) Stop() {
	// Its services report each other gone while stopping: not news.
	t.logLevel.Set(slog.LevelError + 4)
	if t.ui != nil {
		t.ui.Stop()
	}
	t.server.Stop()
}

func (t *Temporal) startUI(o TemporalOptions) error {
	host, portStr, err := net.SplitHostPort(o.UIAddress)
	if err != nil {
		return fmt.Errorf("temporal UI address %q: %w", o.UIAddress, err)
	}
	port, _ := strconv.Atoi(portStr)
	// The UI server's Start blocks and only returns an error, so bind-check
	// first to report a busy port here rather than from a goroutine.
	l, err := net.Listen("tcp", o.UIAddress)
	if err != nil {
		return fmt.Errorf("temporal UI: %w", err)
	}
	l.Close()
	t.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: o.Address,
		EnableUI:            true,
		DefaultNamespace:    o.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
		DisableWriteActions: !o.UIWriteActions,
	}))
	t.UIAddress = o.UIAddress
	go func() {
		if err := t.ui.Start(); err != nil {
			o.Logger.Error("temporal UI stopped", "error", err)
		}
	}()
	return nil
}

// store is where the server keeps its data: one SQLite database for
// everything, or PostgreSQL databases for persistence and visibility.
type store struct {
	main, visibility *config.SQL
}

func openStore(o TemporalOptions) (store, error) {
	if o.Postgres != nil {
		return postgresStore(*o.Postgres)
	}
	c, err := sqliteConfig(o)
	return store{main: c}, err
}

func sqliteConfig(o TemporalOptions) (*config.SQL, error) {
	c := &config.SQL{PluginName: sqliteplugin.PluginName, MaxConns: max(o.SQLiteConns, 1), MaxIdleConns: max(o.SQLiteConns, 1)}
	if o.DBFile == "" {
		c.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		c.DatabaseName = "refundflow-" + strconv.FormatUint(rand.Uint64(), 36)
		return c, nil
	}
	// WAL with synchronous=NORMAL: ~4x the throughput of the default journal
	// and still crash-safe for the database (NOTES).
	c.ConnectAttributes = map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "1", "busy_timeout": "10000"}
	c.DatabaseName = o.DBFile
	if _, err := os.Stat(o.DBFile); os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(o.DBFile), 0o755); err != nil {
			return nil, err
		}
		if err := sqliteschema.SetupSchema(c); err != nil {
			return nil, fmt.Errorf("set up temporal schema in %s: %w", o.DBFile, err)
		}
	}
	return c, nil
}

func serverConfig(o TemporalOptions, host string, st store) (*config.Config, error) {
	_, frontendPort, _ := net.SplitHostPort(o.Address)
	fp, _ := strconv.Atoi(frontendPort)
	service := func(grpcPort int) (config.Service, error) {
		var s config.Service
		if grpcPort == 0 {
			p, err := pgcluster.FreePort()
			if err != nil {
				return s, err
			}
			grpcPort = p
		}
		s.RPC.GRPCPort = grpcPort
		s.RPC.BindOnIP = host
		return s, nil
	}
	cfg := &config.Config{}
	cfg.Global.Membership.MaxJoinDuration = 30 * time.Second
	cfg.Global.Membership.BroadcastAddress = host
	cfg.Persistence.NumHistoryShards = 1
	if st.visibility == nil {
		cfg.Persistence.DefaultStore = "sqlite"
		cfg.Persistence.VisibilityStore = "sqlite"
		cfg.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: st.main}}
	} else {
		cfg.Persistence.DefaultStore = "postgres"
		cfg.Persistence.VisibilityStore = "postgres-visibility"
		cfg.Persistence.DataStores = map[string]config.DataStore{"postgres": {SQL: st.main}, "postgres-visibility": {SQL: st.visibility}}
	}
	cfg.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{
			"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: o.Address, ClusterID: "5d3f7c4e-2b1a-4c6d-8e9f-0a1b2c3d4e5f"},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"
	cfg.Services = map[string]config.Service{}
	for name, port := range map[string]int{"frontend": fp, "history": 0, "matching": 0, "worker": 0} {
		s, err := service(port)
		if err != nil {
			return nil, err
		}
		if name == "frontend" {
			hp, err := pgcluster.FreePort()
			if err != nil {
				return nil, err
			}
			s.RPC.HTTPPort = hp
		}
		cfg.Services[name] = s
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	cfg.PublicClient.HostPort = o.Address
	return cfg, nil
}

func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		// It would call out to the internet.
		dynamicconfig.EnableServerVersionCheck.Key(): false,
		// Search attributes registered at start are usable at once.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		// One partition per task queue: a single-node server gains nothing
		// from more, and the payments rate limit stays exact.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():           1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key():          1,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 200,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8192,
	}
}

// slogLogger adapts slog to the Temporal server's logger interface.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Debug(msg string, tags ...tag.Tag) { s.log(slog.LevelDebug, msg, tags) }
func (s slogLogger) Info(msg string, tags ...tag.Tag)  { s.log(slog.LevelInfo, msg, tags) }
func (s slogLogger) Warn(msg string, tags ...tag.Tag)  { s.log(slog.LevelWarn, msg, tags) }
func (s slogLogger) Error(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// The server's panic and fatal levels are logged as errors: an embedded
// server must not take the dev stack down with it.
func (s slogLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }
func (s slogLogger) Panic(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }
func (s slogLogger) Fatal(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }

func (s slogLogger) With(tags ...tag.Tag) log.Logger {
	return slogLogger{s.l.With(attrs(tags)...)}
}

func (s slogLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	if s.l.Enabled(context.Background(), level) {
		s.l.Log(context.Background(), level, msg, attrs(tags)...)
	}
}

func attrs(tags []tag.Tag) []any {
	out := make([]any, 0, len(tags))
	for _, t := range tags {
		out = append(out, slog.Any(t.Key(), t.Value()))
	}
	return out
}

// levelFilter drops records below a level that can change at run time.
type levelFilter struct {
	slog.Handler
	min *slog.LevelVar
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min.Level() && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.min}
}

func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(n), f.min}
}
