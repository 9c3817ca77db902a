package postgres

import (
	"context"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/refund"
)

// CreateApprovalIntent records what an approver asks of a case.
func (db *DB) CreateApprovalIntent(ctx context.Context, in refund.Intent) (*refund.Intent, error) {
	row, err := db.q.InsertApprovalIntent(ctx, sqlgen.InsertApprovalIntentParams{
		ID: in.ID, RefundID: in.RefundID, KeyID: in.KeyID, Action: in.Action, Amount: in.Amount, Note: in.Note,
	})
	if err != nil {
		return nil, err
	}
	return intentFromRow(row), nil
}

// UseApprovalIntent takes an intent for the update usedBy: ENOTFOUND when
// there is none, ECONFLICT approval_intent_used when another update took
// it. The same update may take it again.
func (db *DB) UseApprovalIntent(ctx context.Context, id, usedBy string) (*refund.Intent, error) {
	row, err := db.q.UseApprovalIntent(ctx, sqlgen.UseApprovalIntentParams{ID: id, UsedBy: &usedBy})
	if isNoRows(err) {
		if _, gerr := db.q.GetApprovalIntent(ctx, id); gerr == nil {
			return nil, refundflow.Errorf(refundflow.ECONFLICT, "approval_intent_used", "approval request %s was acted on already", id)
		}
		return nil, refundflow.Errorf(refundflow.ENOTFOUND, "approval_intent_unknown", "no approval request %s", id)
	}
	if err != nil {
		return nil, err
	}
	return intentFromRow(row), nil
}

func intentFromRow(r sqlgen.ApprovalIntent) *refund.Intent {
	return &refund.Intent{
		ID: r.ID, RefundID: r.RefundID, KeyID: r.KeyID, Action: r.Action, Amount: r.Amount, Note: r.Note, CreatedAt: r.CreatedAt.UTC(),
	}
}
