package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// EventFailing is the delivery status the delivery log shows for a pending
// delivery whose last try failed: it is retried at NextAttemptAt. The
// database keeps it as pending.
const EventFailing = "failing"

// DeliveryStatuses are the statuses a delivery shows, in the order of its
// life.
var DeliveryStatuses = []string{EventPending, EventFailing, EventDelivered, EventNotConfigured, EventDead}

// DeliveryStatus is the status the delivery log shows: the stored one,
// with failing told apart from pending.
func (r *EventRecord) DeliveryStatus() string {
	if r.Status == EventPending && r.LastError != "" {
		return EventFailing
	}
	return r.Status
}

// DeliveryID is the id of the event's delivery to the platform: one per
// event (a stack has one platform endpoint), but an id of its own, since
// an event's id may hold characters no URL path segment takes.
func (r *EventRecord) DeliveryID() string {
	return "whd_" + strconv.FormatInt(r.Seq, 10)
}

// RetriesFrom is when the delivery's day of retries began: when the event
// happened, or when staff last redelivered it.
func (r *EventRecord) RetriesFrom() time.Time {
	if r.RedeliveredAt != nil && r.RedeliveredAt.After(r.CreatedAt) {
		return *r.RedeliveredAt
	}
	return r.CreatedAt
}

// deliverySeq reads a delivery id; ok is false for one no delivery has.
func deliverySeq(id string) (int64, bool) {
	digits, ok := strings.CutPrefix(id, "whd_")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n > 0
}

// EventFilter picks events from the log, in the order they were written.
type EventFilter struct {
	Type string
	// CreatedAfter keeps the events that happened at or after it.
	CreatedAfter *time.Time
	// AfterID is the last event of the previous page: the page starts
	// after it.
	AfterID string
	Limit   int
}

// ListEvents reads the event log. An AfterID that names no event is
// refused as an invalid cursor.
//
// The log promises every event for at least 30 days (the API's contract):
// a platform that was away for less rebuilds its state from it. Nothing
// deletes a platform event today; whatever prunes webhook_deliveries one
// day must keep the younger ones.
func (db *DB) ListEvents(ctx context.Context, f EventFilter) ([]*EventRecord, error) {
	p := sqlgen.ListEventsParams{Type: emptyNil(f.Type), CreatedAfter: f.CreatedAfter, MaxRows: int32(f.Limit)}
	if f.AfterID != "" {
		pos, err := db.q.EventPosition(ctx, f.AfterID)
		if isNoRows(err) {
			return nil, refundflow.FieldError("cursor", "invalid_cursor", "names no event: use the next_cursor of a previous page")
		}
		if err != nil {
			return nil, err
		}
		p.AfterTxid, p.AfterSeq = &pos.Txid, &pos.Seq
	}
	rows, err := db.q.ListEvents(ctx, p)
	if err != nil {
		return nil, err
	}
	return fromRows(rows, func(r sqlgen.WebhookDelivery) (*EventRecord, error) { return eventFromRow(r), nil })
}

// Delivery is an event's delivery to the platform with every try at it.
type Delivery struct {
	*EventRecord
	Tries []DeliveryTry
}

// DeliveryFilter picks deliveries, newest first.
type DeliveryFilter struct {
	// Status is one of DeliveryStatuses.
	Status  string
	EventID string
	AfterAt *time.Time
	AfterID string // the event id of the previous page's last delivery
	Limit   int
}

// ListDeliveries lists deliveries with their tries.
func (db *DB) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error) {
	rows, err := db.q.ListDeliveries(ctx, sqlgen.ListDeliveriesParams{
		Status: emptyNil(f.Status), EventID: emptyNil(f.EventID), CursorAt: f.AfterAt, CursorID: emptyNil(f.AfterID),
		MaxRows: int32(f.Limit),
	})
	if err != nil {
		return nil, err
	}
	return withTries(ctx, db.q, rows)
}

// GetDelivery returns a delivery by its id (DeliveryID), or ENOTFOUND.
func (db *DB) GetDelivery(ctx context.Context, id string) (*Delivery, error) {
	seq, ok := deliverySeq(id)
	if !ok {
		return nil, deliveryNotFound(id)
	}
	row, err := db.q.GetDelivery(ctx, seq)
	if isNoRows(err) {
		return nil, deliveryNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	ds, err := withTries(ctx, db.q, []sqlgen.WebhookDelivery{row})
	if err != nil {
		return nil, err
	}
	return ds[0], nil
}

func deliveryNotFound(id string) error {
	return refundflow.Errorf(refundflow.ENOTFOUND, "not_found", "webhook delivery %q not found", id)
}

func withTries(ctx context.Context, q *sqlgen.Queries, rows []sqlgen.WebhookDelivery) ([]*Delivery, error) {
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	attempts, err := q.ListDeliveryAttempts(ctx, ids)
	if err != nil {
		return nil, err
	}
	tries := map[string][]DeliveryTry{}
	for _, a := range attempts {
		t := DeliveryTry{Attempt: int(a.Attempt), At: a.At.UTC(), Latency: time.Duration(a.LatencyMs) * time.Millisecond, Error: a.Error}
		if a.HttpStatus != nil {
			t.HTTPStatus = int(*a.HttpStatus)
		}
		tries[a.DeliveryID] = append(tries[a.DeliveryID], t)
	}
	out := make([]*Delivery, 0, len(rows))
	for _, r := range rows {
		out = append(out, &Delivery{EventRecord: eventFromRow(r), Tries: tries[r.ID]})
	}
	return out, nil
}

// Redeliver sends a delivery again as soon as a worker is free: a dead
// one, a failing one without waiting out its backoff, or a delivered one
// (the platform lost what it had stored). It goes back to pending with a
// fresh day of retries and keeps its tries, and is returned as it was
// redelivered (a worker may have sent it by the time it could be read
// again). The event keeps its id and
// body, so the platform deduplicates it. Refused: a delivery already on
// its way (pending, no try failed since it was written or redelivered),
// delivery_pending; one recorded while no webhook endpoint was
// configured, delivery_not_configured: there was never an endpoint to send
// it to, and the event log has it.
//
// The API's POST /v1/webhook-deliveries/{id}/redeliver and the console's
// button both call it.
func (db *DB) Redeliver(ctx context.Context, id string, now time.Time) (*Delivery, error) {
	seq, ok := deliverySeq(id)
	if !ok {
		return nil, deliveryNotFound(id)
	}
	var out *Delivery
	err := db.InTx(ctx, func(q *sqlgen.Queries) error {
		row, err := q.Redeliver(ctx, sqlgen.RedeliverParams{Seq: seq, Now: now})
		if isNoRows(err) {
			return db.refuseRedelivery(ctx, q, id, seq)
		}
		if err != nil {
			return err
		}
		ds, err := withTries(ctx, q, []sqlgen.WebhookDelivery{row})
		if err != nil {
			return err
		}
		out = ds[0]
		return q.NotifyOutbox(ctx)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// refuseRedelivery says why a delivery cannot be redelivered.
func (db *DB) refuseRedelivery(ctx context.Context, q *sqlgen.Queries, id string, seq int64) error {
	row, err := q.GetDelivery(ctx, seq)
	if isNoRows(err) {
		return deliveryNotFound(id)
	}
	if err != nil {
		return err
	}
	switch eventFromRow(row).DeliveryStatus() {
	case EventNotConfigured:
		return refundflow.Errorf(refundflow.ECONFLICT, "delivery_not_configured",
			"webhook delivery %s was recorded while no platform webhook URL was configured; read the event from GET /v1/events", id)
	case EventPending:
		return refundflow.Errorf(refundflow.ECONFLICT, "delivery_pending", "webhook delivery %s is on its way already", id)
	}
	// Its status changed between the update and this read: asking again
	// decides it.
	return refundflow.Errorf(refundflow.ECONFLICT, "delivery_changed", "webhook delivery %s changed meanwhile; try again", id)
}

// RedeliverFailedSince redelivers (as Redeliver) every dead or failing
// delivery of an event that happened at or after since, and says how
// many.
func (db *DB) RedeliverFailedSince(ctx context.Context, since, now time.Time) (int64, error) {
	var n int64
	err := db.InTx(ctx, func(q *sqlgen.Queries) error {
		var err error
		if n, err = q.RedeliverFailedSince(ctx, sqlgen.RedeliverFailedSinceParams{Since: since, Now: now}); err != nil || n == 0 {
			return err
		}
		return q.NotifyOutbox(ctx)
	})
	return n, err
}
