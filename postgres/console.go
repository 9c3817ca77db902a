package postgres

import (
	"context"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// CreateConsoleSession starts a console sign-in for a key.
func (db *DB) CreateConsoleSession(ctx context.Context, tokenHash []byte, keyID string, expires time.Time) error {
	return db.q.InsertConsoleSession(ctx, sqlgen.InsertConsoleSessionParams{TokenHash: tokenHash, KeyID: keyID, ExpiresAt: expires})
}

// ConsoleSessionKey returns the active key of a live session, or an
// EUNAUTHORIZED error.
func (db *DB) ConsoleSessionKey(ctx context.Context, tokenHash []byte) (*refundflow.APIKey, error) {
	row, err := db.q.GetConsoleSessionKey(ctx, tokenHash)
	if err != nil {
		if isNoRows(err) {
			return nil, refundflow.Errorf(refundflow.EUNAUTHORIZED, "no_session", "sign in again")
		}
		return nil, err
	}
	return keyFromRow(row)
}

// EndConsoleSession signs a session out (and sweeps expired ones).
func (db *DB) EndConsoleSession(ctx context.Context, tokenHash []byte) error {
	return db.q.DeleteConsoleSession(ctx, tokenHash)
}

// ApprovalQueue lists the cases waiting for approval, most urgent first,
// with their approvals so far.
func (db *DB) ApprovalQueue(ctx context.Context, limit int) ([]*RefundCase, error) {
	rows, err := db.q.ListApprovalQueue(ctx, int32(limit))
	if err != nil {
		return nil, err
	}
	out := make([]*RefundCase, 0, len(rows))
	for _, r := range rows {
		c, err := caseFromRow(r)
		if err != nil {
			return nil, err
		}
		approvals, err := db.q.ListApprovals(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range approvals {
			c.Approvals = append(c.Approvals, approvalFromRow(a))
		}
		out = append(out, c)
	}
	return out, nil
}
