package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// writeOutbox writes what a step sends, in the step's transaction: the
// learner's in-app messages and the staff notes at once, the emails and
// platform events for the workers to deliver. Every message is keyed by
// its id, so writing a step again writes nothing twice.
func writeOutbox(ctx context.Context, q *sqlgen.Queries, o notify.Outbox) error {
	refundID, ticketID := emptyNil(o.RefundID), emptyNil(o.TicketID)
	for _, m := range o.InApp {
		if err := q.InsertLearnerMessage(ctx, sqlgen.InsertLearnerMessageParams{
			ID: m.ID, LearnerID: m.LearnerID, RefundID: refundID, Kind: m.Kind, Locale: m.Locale,
			Subject: m.Subject, Body: m.Body, CreatedAt: m.CreatedAt,
		}); err != nil {
			return fmt.Errorf("in-app message %s: %w", m.ID, err)
		}
	}
	for _, n := range o.Staff {
		if err := q.InsertStaffNotification(ctx, sqlgen.InsertStaffNotificationParams{
			ID: n.ID, Audience: n.Audience, Kind: n.Kind, RefundID: refundID, TicketID: ticketID, Subject: n.Subject, Body: n.Body,
		}); err != nil {
			return fmt.Errorf("staff note %s: %w", n.ID, err)
		}
	}
	for _, e := range o.Emails {
		if err := q.InsertOutboxEmail(ctx, sqlgen.InsertOutboxEmailParams{
			ID: e.MessageID, ToAddress: e.To, Subject: e.Subject, TextBody: e.Text, HtmlBody: e.HTML,
			RefundID: refundID, TicketID: ticketID,
		}); err != nil {
			return fmt.Errorf("email %s: %w", e.MessageID, err)
		}
	}
	for _, ev := range o.Events {
		payload, err := json.Marshal(ev.Data)
		if err != nil {
			return fmt.Errorf("event %s: %w", ev.ID, err)
		}
		if err := q.InsertOutboxEvent(ctx, sqlgen.InsertOutboxEventParams{
			ID: ev.ID, Type: string(ev.Type), Payload: payload, RefundID: refundID, TicketID: ticketID, CreatedAt: ev.CreatedAt,
		}); err != nil {
			return fmt.Errorf("event %s: %w", ev.ID, err)
		}
	}
	if len(o.Emails) > 0 || len(o.Events) > 0 {
		return q.NotifyOutbox(ctx)
	}
	return nil
}

// WriteOutbox writes messages that belong to no step of a case or ticket
// (a renewal reminder's, say) in a transaction of their own.
func (db *DB) WriteOutbox(ctx context.Context, o notify.Outbox) error {
	return db.InTx(ctx, func(q *sqlgen.Queries) error { return writeOutbox(ctx, q, o) })
}

// OutboxChannel is the LISTEN channel a committed step notifies.
const OutboxChannel = "refundflow_outbox"

// ListenOutbox calls wake whenever a transaction that wrote emails or
// events commits, until ctx ends. It holds one connection of its own and
// reconnects after a failure; wake must not block.
func (db *DB) ListenOutbox(ctx context.Context, wake func()) error {
	for ctx.Err() == nil {
		err := db.listen(ctx, wake)
		if ctx.Err() != nil {
			break
		}
		// PostgreSQL restarted or the connection broke: the delivery loop
		// polls meanwhile, so a short pause loses nothing.
		_ = err
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return ctx.Err()
}

func (db *DB) listen(ctx context.Context, wake func()) error {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+OutboxChannel); err != nil {
		return err
	}
	// A commit may have happened while the connection was down.
	wake()
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			// The connection is in an unknown state now: drop it.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
			return err
		}
		wake()
	}
}

// EmailRecord is an email in the outbox.
type EmailRecord struct {
	ID, To, Subject, Text, HTML, RefundID, TicketID, Status, LastError string
	Attempts                                                           int
	CreatedAt, NextAttemptAt                                           time.Time
	SentAt                                                             *time.Time
}

// Email is the record as the mailer sends it.
func (r *EmailRecord) Email() notify.Email {
	return notify.Email{To: r.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML, MessageID: r.ID}
}

// Email statuses: waiting for delivery, delivered over SMTP, kept in the
// sink (no SMTP server configured), given up on.
const (
	EmailPending = "pending"
	EmailSent    = "sent"
	EmailSink    = "sink"
	EmailDead    = "dead"
)

// ClaimEmails takes up to n due emails for one delivery try each, leasing
// them until leaseUntil.
func (db *DB) ClaimEmails(ctx context.Context, now, leaseUntil time.Time, n int) ([]*EmailRecord, error) {
	rows, err := db.q.ClaimEmails(ctx, sqlgen.ClaimEmailsParams{Now: now, LeaseUntil: leaseUntil, MaxRows: int32(n)})
	if err != nil {
		return nil, err
	}
	return fromRows(rows, func(r sqlgen.Email) (*EmailRecord, error) { return emailFromRow(r), nil })
}

// EmailDelivered records a delivered email (status EmailSent or EmailSink).
func (db *DB) EmailDelivered(ctx context.Context, id, status string, at time.Time) error {
	return db.q.EmailSent(ctx, sqlgen.EmailSentParams{ID: id, Status: status, At: &at})
}

// EmailFailed records a failed try: again at next, or dead.
func (db *DB) EmailFailed(ctx context.Context, id string, next time.Time, lastError string, dead bool) error {
	return db.q.EmailFailed(ctx, sqlgen.EmailFailedParams{ID: id, NextAttemptAt: next, LastError: lastError, Dead: dead})
}

// Emails lists the newest emails (the console's outbox).
func (db *DB) Emails(ctx context.Context, limit int) ([]*EmailRecord, error) {
	rows, err := db.q.ListEmails(ctx, int32(limit))
	if err != nil {
		return nil, err
	}
	return fromRows(rows, func(r sqlgen.Email) (*EmailRecord, error) { return emailFromRow(r), nil })
}

func emailFromRow(r sqlgen.Email) *EmailRecord {
	e := &EmailRecord{
		ID: r.ID, To: r.ToAddress, Subject: r.Subject, Text: r.TextBody, HTML: r.HtmlBody, Status: r.Status,
		LastError: r.LastError, Attempts: int(r.Attempts), CreatedAt: r.CreatedAt.UTC(), NextAttemptAt: r.NextAttemptAt.UTC(),
		SentAt: utcPtr(r.SentAt),
	}
	if r.RefundID != nil {
		e.RefundID = *r.RefundID
	}
	if r.TicketID != nil {
		e.TicketID = *r.TicketID
	}
	return e
}

// EventRecord is a platform event in the outbox: its delivery and its
// payload, fixed when the step wrote it.
type EventRecord struct {
	ID, Type, RefundID, TicketID, Status, LastError string
	Payload                                         json.RawMessage
	Attempts                                        int
	CreatedAt, NextAttemptAt                        time.Time
	DeliveredAt                                     *time.Time
	// Seq numbers the events as they were written (DeliveryID).
	Seq int64
	// RedeliveredAt is when staff last asked for the event to be sent
	// again (Redeliver).
	RedeliveredAt *time.Time
}

// Event is the record as the platform receives it.
func (r *EventRecord) Event() notify.Event {
	return notify.Event{ID: r.ID, Type: notify.EventType(r.Type), CreatedAt: r.CreatedAt, Data: r.Payload}
}

// Event delivery statuses: waiting, delivered, recorded only (no platform
// webhook URL configured), given up on.
const (
	EventPending       = "pending"
	EventDelivered     = "delivered"
	EventNotConfigured = "not_configured"
	EventDead          = "dead"
)

// ClaimEvents takes up to n due events for one delivery try each, leasing
// them until leaseUntil.
func (db *DB) ClaimEvents(ctx context.Context, now, leaseUntil time.Time, n int) ([]*EventRecord, error) {
	rows, err := db.q.ClaimEvents(ctx, sqlgen.ClaimEventsParams{Now: now, LeaseUntil: leaseUntil, MaxRows: int32(n)})
	if err != nil {
		return nil, err
	}
	return fromRows(rows, func(r sqlgen.WebhookDelivery) (*EventRecord, error) { return eventFromRow(r), nil })
}

// DeliveryTry is one try at delivering an event, as the receiver answered.
type DeliveryTry struct {
	Attempt int
	At      time.Time
	// HTTPStatus is the receiver's answer; 0 when none came.
	HTTPStatus int
	Latency    time.Duration
	Error      string
}

// EventDelivered records the successful try of an event (status
// EventDelivered or EventNotConfigured; try is nil when nothing was sent).
func (db *DB) EventDelivered(ctx context.Context, id, status string, at time.Time, try *DeliveryTry) error {
	return db.InTx(ctx, func(q *sqlgen.Queries) error {
		if err := insertTry(ctx, q, id, try); err != nil {
			return err
		}
		return q.EventDelivered(ctx, sqlgen.EventDeliveredParams{ID: id, Status: status, At: &at})
	})
}

// EventFailed records a failed try: again at next, or dead.
func (db *DB) EventFailed(ctx context.Context, id string, next time.Time, try DeliveryTry, dead bool) error {
	return db.InTx(ctx, func(q *sqlgen.Queries) error {
		if err := insertTry(ctx, q, id, &try); err != nil {
			return err
		}
		return q.EventFailed(ctx, sqlgen.EventFailedParams{ID: id, NextAttemptAt: next, LastError: try.Error, Dead: dead})
	})
}

func insertTry(ctx context.Context, q *sqlgen.Queries, id string, try *DeliveryTry) error {
	if try == nil {
		return nil
	}
	var status *int32
	if try.HTTPStatus != 0 {
		s := int32(try.HTTPStatus)
		status = &s
	}
	return q.InsertWebhookAttempt(ctx, sqlgen.InsertWebhookAttemptParams{
		DeliveryID: id, Attempt: int32(try.Attempt), At: try.At, HttpStatus: status,
		LatencyMs: int32(min(try.Latency.Milliseconds(), 1<<31-1)), Error: try.Error,
	})
}

// Events lists the newest platform events with their delivery.
func (db *DB) Events(ctx context.Context, limit int) ([]*EventRecord, error) {
	rows, err := db.q.ListWebhookDeliveries(ctx, int32(limit))
	if err != nil {
		return nil, err
	}
	return fromRows(rows, func(r sqlgen.WebhookDelivery) (*EventRecord, error) { return eventFromRow(r), nil })
}

func eventFromRow(r sqlgen.WebhookDelivery) *EventRecord {
	e := &EventRecord{
		ID: r.ID, Type: r.Type, Status: r.Status, LastError: r.LastError, Payload: r.Payload, Attempts: int(r.Attempts),
		CreatedAt: r.CreatedAt.UTC(), NextAttemptAt: r.NextAttemptAt.UTC(), DeliveredAt: utcPtr(r.DeliveredAt),
		Seq: r.Seq, RedeliveredAt: utcPtr(r.RedeliveredAt),
	}
	if r.RefundID != nil {
		e.RefundID = *r.RefundID
	}
	if r.TicketID != nil {
		e.TicketID = *r.TicketID
	}
	return e
}

// NextOutboxDue is when the next message waiting for delivery is due; ok
// is false when none is waiting.
func (db *DB) NextOutboxDue(ctx context.Context) (due time.Time, ok bool, err error) {
	t, err := db.q.NextOutboxDue(ctx)
	if isNoRows(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return t, true, nil
}

// OutboxCount is how many messages of a channel are in a status, and since
// when the oldest of them waits.
type OutboxCount struct {
	Channel string // email, webhook
	Status  string // pending, dead
	N       int64
	Oldest  time.Time
}

// OutboxCounts counts the pending and dead messages per channel.
func (db *DB) OutboxCounts(ctx context.Context) ([]OutboxCount, error) {
	rows, err := db.q.OutboxCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]OutboxCount, 0, len(rows))
	for _, r := range rows {
		out = append(out, OutboxCount{Channel: r.Channel, Status: r.Status, N: r.N, Oldest: r.Oldest.UTC()})
	}
	return out, nil
}

// DeadLetter lists the newest messages given up on, emails and events.
func (db *DB) DeadLetter(ctx context.Context, limit int) ([]*EmailRecord, []*EventRecord, error) {
	emails, err := db.q.ListDeadEmails(ctx, int32(limit))
	if err != nil {
		return nil, nil, err
	}
	events, err := db.q.ListDeadEvents(ctx, int32(limit))
	if err != nil {
		return nil, nil, err
	}
	e, _ := fromRows(emails, func(r sqlgen.Email) (*EmailRecord, error) { return emailFromRow(r), nil })
	v, _ := fromRows(events, func(r sqlgen.WebhookDelivery) (*EventRecord, error) { return eventFromRow(r), nil })
	return e, v, nil
}
