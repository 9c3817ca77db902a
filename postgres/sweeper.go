package postgres

import (
	"context"
	"time"

	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// UnstartedRefunds lists, oldest first, the cases opened before then that
// have recorded no step: their workflow may never have started.
func (db *DB) UnstartedRefunds(ctx context.Context, before time.Time, limit int) ([]*RefundCase, error) {
	rows, err := db.q.ListUnstartedRefunds(ctx, sqlgen.ListUnstartedRefundsParams{Before: before, MaxRows: int32(limit)})
	if err != nil {
		return nil, err
	}
	return fromRows(rows, caseFromRow)
}

// UnsettledAttempts counts a case's payment attempts that Stripe may still
// act on; their amount stays held on the order until they settle.
func (db *DB) UnsettledAttempts(ctx context.Context, refundID string) (int, error) {
	n, err := db.q.CountUnsettledAttempts(ctx, refundID)
	return int(n), err
}
