package postgres

import (
	"context"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// LearnerMessage is one message in a learner's in-app list.
type LearnerMessage struct {
	ID        string    `json:"id"`
	RefundID  string    `json:"refund_id,omitempty"`
	Kind      string    `json:"kind"`
	Locale    string    `json:"locale"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// LearnerMessages lists a learner's messages, newest first.
func (db *DB) LearnerMessages(ctx context.Context, learnerID string, afterAt *time.Time, afterID string, limit int) ([]LearnerMessage, error) {
	p := sqlgen.ListLearnerMessagesParams{LearnerID: learnerID, CursorAt: afterAt, MaxRows: int32(limit)}
	if afterAt != nil {
		p.CursorID = &afterID
	}
	rows, err := db.q.ListLearnerMessages(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]LearnerMessage, 0, len(rows))
	for _, r := range rows {
		m := LearnerMessage{ID: r.ID, Kind: r.Kind, Locale: r.Locale, Subject: r.Subject, Body: r.Body, CreatedAt: r.CreatedAt.UTC()}
		if r.RefundID != nil {
			m.RefundID = *r.RefundID
		}
		out = append(out, m)
	}
	return out, nil
}

// StaffEmails returns the addresses on the active keys of a role.
func (db *DB) StaffEmails(ctx context.Context, role refundflow.Role) ([]string, error) {
	return db.q.ListStaffEmails(ctx, string(role))
}
