// Package postgres is the PostgreSQL adapter: the connection pool, the
// migrations (goose, embedded), and the repository methods that turn domain
// values into rows and back. The SQL itself lives in migrations/ and
// queries/; sqlgen/ is generated from it by sqlc (make generate).
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for goose
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the product's database: a pgx pool and the generated queries.
type DB struct {
	Pool *pgxpool.Pool
	q    *sqlgen.Queries
}

// Open connects to url and checks the connection.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return &DB{Pool: pool, q: sqlgen.New(pool)}, nil
}

// Close releases the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping checks that PostgreSQL answers (used by /readyz).
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// InTx runs fn in one transaction, committing when it returns nil.
func (db *DB) InTx(ctx context.Context, fn func(q *sqlgen.Queries) error) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		return fn(db.q.WithTx(tx))
	})
}

// Queries gives direct access to the generated queries for reads that need
// no domain conversion.
func (db *DB) Queries() *sqlgen.Queries { return db.q }

func migrationProvider(sqlDB *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	// The session lock makes concurrent "migrate up" (several API and
	// worker replicas starting at once) safe.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, sqlDB, sub, goose.WithSessionLocker(locker))
}

// Migrate applies every pending migration to the database at url.
func Migrate(ctx context.Context, url string) ([]*goose.MigrationResult, error) {
	sqlDB, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	defer sqlDB.Close()
	p, err := migrationProvider(sqlDB)
	if err != nil {
		return nil, err
	}
	return p.Up(ctx)
}

// MigrationStatus lists every migration and whether it is applied.
func MigrationStatus(ctx context.Context, url string) ([]*goose.MigrationStatus, error) {
	sqlDB, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	defer sqlDB.Close()
	p, err := migrationProvider(sqlDB)
	if err != nil {
		return nil, err
	}
	return p.Status(ctx)
}

// MigrationsFS exposes the embedded migrations (tests hash them to name
// their template database).
func MigrationsFS() fs.FS { return migrations }

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// notFound turns "no rows" into an ENOTFOUND error with the given message.
func notFound(err error, format string, args ...any) error {
	if isNoRows(err) {
		return refundflow.Errorf(refundflow.ENOTFOUND, "not_found", format, args...)
	}
	return err
}

// constraintName returns the constraint a PostgreSQL error names, or "".
func constraintName(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}
