package web

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL going away under a request — connections refused while it
// restarts, a server shutting down or crashed, a connection cut — is a
// 503 the caller may retry, not an internal error; real SQL errors stay
// internal.
func TestDatabaseOutageIsUnavailableNotInternal(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &pgconn.ConnectError{}, true},
		{"shutting down", &pgconn.PgError{Code: "57P03"}, true},
		{"terminated by a crash", &pgconn.PgError{Code: "57P02"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"connection cut mid-answer", io.ErrUnexpectedEOF, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"anything else", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := databaseUnavailable(fmt.Errorf("record Stripe event: %w", tc.err)); got != tc.want {
				t.Fatalf("databaseUnavailable = %v, want %v", got, tc.want)
			}
		})
	}
}
