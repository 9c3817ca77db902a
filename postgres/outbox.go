package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// EmailRecord is an email as recorded before it is sent.
type EmailRecord struct {
	ID, To, Subject, Text, HTML, RefundID, Status, LastError string
	Attempts                                                 int
	CreatedAt                                                time.Time
	SentAt                                                   *time.Time
}

// AddEmail records an email under its MessageID, or returns the record a
// previous try made.
func (db *DB) AddEmail(ctx context.Context, e notify.Email, refundID string) (*EmailRecord, error) {
	row, err := db.q.InsertEmail(ctx, sqlgen.InsertEmailParams{
		ID: e.MessageID, ToAddress: e.To, Subject: e.Subject, TextBody: e.Text, HtmlBody: e.HTML, RefundID: emptyNil(refundID),
	})
	if err != nil {
		return nil, err
	}
	return emailFromRow(row), nil
}

// MarkEmail records the outcome of a send.
func (db *DB) MarkEmail(ctx context.Context, id, status, lastError string) error {
	return db.q.MarkEmail(ctx, sqlgen.MarkEmailParams{ID: id, Status: status, LastError: lastError})
}

// Emails lists the newest emails (the dev outbox).
func (db *DB) Emails(ctx context.Context, limit int) ([]*EmailRecord, error) {
	rows, err := db.q.ListEmails(ctx, int32(limit))
	if err != nil {
		return nil, err
	}
	out := make([]*EmailRecord, 0, len(rows))
	for _, r := range rows {
		out = append(out, emailFromRow(r))
	}
	return out, nil
}

func emailFromRow(r sqlgen.Email) *EmailRecord {
	e := &EmailRecord{
		ID: r.ID, To: r.ToAddress, Subject: r.Subject, Text: r.TextBody, HTML: r.HtmlBody, Status: r.Status,
		LastError: r.LastError, Attempts: int(r.Attempts), CreatedAt: r.CreatedAt.UTC(), SentAt: utcPtr(r.SentAt),
	}
	if r.RefundID != nil {
		e.RefundID = *r.RefundID
	}
	return e
}

// WebhookRecord is a platform webhook as recorded before delivery.
type WebhookRecord struct {
	ID, Type, Status, LastError string
	Payload                     json.RawMessage
	Attempts                    int
	CreatedAt                   time.Time
}

// AddWebhookDelivery records an event, or returns the record of a previous
// try (whose payload is what every retry sends).
func (db *DB) AddWebhookDelivery(ctx context.Context, id, typ string, payload json.RawMessage) (*WebhookRecord, error) {
	row, err := db.q.InsertWebhookDelivery(ctx, sqlgen.InsertWebhookDeliveryParams{ID: id, Type: typ, Payload: payload})
	if err != nil {
		return nil, err
	}
	return webhookFromRow(row), nil
}

// MarkWebhookDelivery records the outcome of a delivery attempt.
func (db *DB) MarkWebhookDelivery(ctx context.Context, id, status, lastError string) error {
	return db.q.MarkWebhookDelivery(ctx, sqlgen.MarkWebhookDeliveryParams{ID: id, Status: status, LastError: lastError})
}

// WebhookDeliveries lists the newest deliveries.
func (db *DB) WebhookDeliveries(ctx context.Context, limit int) ([]*WebhookRecord, error) {
	rows, err := db.q.ListWebhookDeliveries(ctx, int32(limit))
	if err != nil {
		return nil, err
	}
	out := make([]*WebhookRecord, 0, len(rows))
	for _, r := range rows {
		out = append(out, webhookFromRow(r))
	}
	return out, nil
}

func webhookFromRow(r sqlgen.WebhookDelivery) *WebhookRecord {
	return &WebhookRecord{ID: r.ID, Type: r.Type, Status: r.Status, LastError: r.LastError, Payload: r.Payload,
		Attempts: int(r.Attempts), CreatedAt: r.CreatedAt.UTC()}
}

// AddStaffNotification records a note for staff once.
func (db *DB) AddStaffNotification(ctx context.Context, id, audience, kind, refundID, subject, body string) error {
	return db.q.InsertStaffNotification(ctx, sqlgen.InsertStaffNotificationParams{
		ID: id, Audience: audience, Kind: kind, RefundID: emptyNil(refundID), Subject: subject, Body: body,
	})
}

// StaffEmails returns the addresses on the active keys of a role.
func (db *DB) StaffEmails(ctx context.Context, role refundflow.Role) ([]string, error) {
	return db.q.ListStaffEmails(ctx, string(role))
}
