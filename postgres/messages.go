package postgres

import (
	"context"
	"time"

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

// AddLearnerMessage stores a message once (its id is the dedupe key).
func (db *DB) AddLearnerMessage(ctx context.Context, learnerID string, m LearnerMessage) error {
	return db.q.InsertLearnerMessage(ctx, sqlgen.InsertLearnerMessageParams{
		ID: m.ID, LearnerID: learnerID, RefundID: emptyNil(m.RefundID), Kind: m.Kind, Locale: m.Locale,
		Subject: m.Subject, Body: m.Body, CreatedAt: m.CreatedAt,
	})
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
