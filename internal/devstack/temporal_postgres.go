package devstack

import (
	"fmt"
	"io"
	"path"

	"go.temporal.io/server/common/config"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/resolver"
	"go.temporal.io/server/schema"
)

// TemporalPostgres is a PostgreSQL server that holds an embedded Temporal
// server's data, as a production cluster on PostgreSQL would.
type TemporalPostgres struct {
	Addr     string // host:port
	User     string
	Password string
	// Database and VisibilityDatabase default to "temporal" and
	// "temporal_visibility"; they are created when missing.
	Database           string
	VisibilityDatabase string
	// MaxConns is the pool size of each database (default 20).
	MaxConns int
}

// postgresStore creates the databases when missing and sets up their
// schemas from the server's own schema files, at the version it expects.
func postgresStore(p TemporalPostgres) (store, error) {
	if p.Database == "" {
		p.Database = "temporal"
	}
	if p.VisibilityDatabase == "" {
		p.VisibilityDatabase = "temporal_visibility"
	}
	if p.MaxConns <= 0 {
		p.MaxConns = 20
	}
	conf := func(db string) *config.SQL {
		return &config.SQL{
			PluginName: postgresql.PluginNamePGX, ConnectAddr: p.Addr, User: p.User, Password: p.Password,
			DatabaseName: db, MaxConns: p.MaxConns, MaxIdleConns: p.MaxConns,
		}
	}
	st := store{main: conf(p.Database), visibility: conf(p.VisibilityDatabase)}
	if err := setupPostgresSchema(st.main, sqlplugin.DbKindMain, "postgresql/v12/temporal"); err != nil {
		return store{}, err
	}
	if err := setupPostgresSchema(st.visibility, sqlplugin.DbKindVisibility, "postgresql/v12/visibility"); err != nil {
		return store{}, err
	}
	return st, nil
}

// setupPostgresSchema does what temporal-sql-tool create-database and
// setup-schema do for a new database, through the server's persistence
// layer and its embedded schema. A database set up already is left alone
// when its version is the server's; an older one is an error (upgrade it
// with temporal-sql-tool update-schema).
func setupPostgresSchema(cfg *config.SQL, kind sqlplugin.DbKind, dir string) error {
	logger := serverlog.NewNoopLogger()
	open := func(c *config.SQL, k sqlplugin.DbKind) (sqlplugin.AdminDB, error) {
		return sql.NewSQLAdminDB(k, c, resolver.NewNoopResolver(), logger, metrics.NoopMetricsHandler)
	}
	maintenance := *cfg
	maintenance.DatabaseName = "postgres"
	adb, err := open(&maintenance, sqlplugin.DbKindUnknown)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL at %s: %w", cfg.ConnectAddr, err)
	}
	err = adb.CreateDatabase(cfg.DatabaseName) // a no-op when it exists
	_ = adb.Close()
	if err != nil {
		return fmt.Errorf("create database %s: %w", cfg.DatabaseName, err)
	}

	db, err := open(cfg, kind)
	if err != nil {
		return err
	}
	defer db.Close()
	if db.VerifyVersion() == nil {
		return nil
	}
	if err := db.CreateSchemaVersionTables(); err != nil {
		return err
	}
	if v, _ := db.ReadSchemaVersion(cfg.DatabaseName); v != "" {
		return fmt.Errorf("temporal database %s has schema %s, the server needs %s: upgrade it with temporal-sql-tool update-schema",
			cfg.DatabaseName, v, db.ExpectedVersion())
	}
	f, err := schema.Assets().Open(path.Join(dir, "schema.sql"))
	if err != nil {
		return err
	}
	defer f.Close()
	stmts, err := persistence.LoadAndSplitQueryFromReaders([]io.Reader{f})
	if err != nil {
		return err
	}
	for _, stmt := range stmts {
		if err := db.Exec(stmt); err != nil {
			return fmt.Errorf("temporal schema %s: %w", dir, err)
		}
	}
	return db.UpdateSchemaVersion(cfg.DatabaseName, db.ExpectedVersion(), db.ExpectedVersion())
}
