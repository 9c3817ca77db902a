package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
)

// maxEventIDBytes bounds an event_id filter: the longest event id
// refundflow makes (a renewal reminder's, of two platform ids) is below it.
const maxEventIDBytes = 512

// eventsPage is a page of the event log. Each event is the body its
// webhook carries, byte for byte.
type eventsPage struct {
	Data []json.RawMessage `json:"data"`
	// NextCursor is where the next page starts: after this page's last
	// event, or where this (empty) page started. A platform polls with it.
	NextCursor *string `json:"next_cursor"`
	// HasMore says the next page is already there.
	HasMore bool `json:"has_more"`
}

// listEvents serves GET /v1/events: the event log, in the order the
// events were written, for a platform to catch up from after missing
// webhooks.
func (s *Server) listEvents(c *gin.Context) {
	var pr refundflow.Problems
	f := postgres.EventFilter{Type: c.Query("type")}
	if f.Type != "" && !slices.Contains(notify.EventTypes, notify.EventType(f.Type)) {
		pr.Add("type", "invalid_event_type", "must be one of %s", eventTypeList())
	}
	if v := c.Query("created_after"); v != "" {
		f.CreatedAfter = parseTime(&pr, "created_after", &v)
	}
	pg := parsePage(c, &pr)
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}
	f.AfterID, f.Limit = pg.AfterID, pg.Limit+1
	rows, err := s.DB.ListEvents(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	page := eventsPage{Data: []json.RawMessage{}, HasMore: len(rows) > pg.Limit}
	rows = rows[:min(len(rows), pg.Limit)]
	for _, r := range rows {
		body, err := json.Marshal(r.Event())
		if err != nil {
			s.fail(c, err)
			return
		}
		page.Data = append(page.Data, body)
	}
	if len(rows) > 0 {
		last := rows[len(rows)-1]
		next := makeCursor(last.CreatedAt, last.ID)
		page.NextCursor = &next
	} else if cursor := c.Query("cursor"); cursor != "" {
		page.NextCursor = &cursor
	}
	c.JSON(http.StatusOK, page)
}

func eventTypeList() string {
	var names []string
	for _, t := range notify.EventTypes {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// deliveryJSON is a webhook delivery as the API shows it.
type deliveryJSON struct {
	ID        string  `json:"id"`
	EventID   string  `json:"event_id"`
	EventType string  `json:"event_type"`
	Status    string  `json:"status"`
	RefundID  *string `json:"refund_id"`
	TicketID  *string `json:"ticket_id"`
	// CreatedAt is when the event happened.
	CreatedAt time.Time `json:"created_at"`
	// NextAttemptAt is when the next try is due, while one is.
	NextAttemptAt *time.Time    `json:"next_attempt_at"`
	DeliveredAt   *time.Time    `json:"delivered_at"`
	RedeliveredAt *time.Time    `json:"redelivered_at"`
	LastError     string        `json:"last_error"`
	Attempts      []attemptJSON `json:"attempts"`
}

type attemptJSON struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	HTTPStatus *int      `json:"http_status"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error"`
}

func toDeliveryJSON(d *postgres.Delivery) deliveryJSON {
	out := deliveryJSON{
		ID: d.DeliveryID(), EventID: d.ID, EventType: d.Type, Status: d.DeliveryStatus(),
		RefundID: emptyNil(d.RefundID), TicketID: emptyNil(d.TicketID), CreatedAt: d.CreatedAt,
		DeliveredAt: d.DeliveredAt, RedeliveredAt: d.RedeliveredAt, LastError: d.LastError, Attempts: []attemptJSON{},
	}
	if d.Status == postgres.EventPending {
		next := d.NextAttemptAt
		out.NextAttemptAt = &next
	}
	for _, t := range d.Tries {
		a := attemptJSON{Attempt: t.Attempt, At: t.At, LatencyMS: t.Latency.Milliseconds(), Error: t.Error}
		if t.HTTPStatus != 0 {
			status := t.HTTPStatus
			a.HTTPStatus = &status
		}
		out.Attempts = append(out.Attempts, a)
	}
	return out
}

func emptyNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// listDeliveries serves GET /v1/webhook-deliveries: the platform
// webhooks' deliveries, newest first, each with its tries.
func (s *Server) listDeliveries(c *gin.Context) {
	var pr refundflow.Problems
	f := postgres.DeliveryFilter{Status: c.Query("status"), EventID: c.Query("event_id")}
	if f.Status != "" && !slices.Contains(postgres.DeliveryStatuses, f.Status) {
		pr.Add("status", "invalid_status", "must be one of %s", strings.Join(postgres.DeliveryStatuses, ", "))
	}
	if len(f.EventID) > maxEventIDBytes {
		pr.Add("event_id", "too_long", "must be at most %d bytes", maxEventIDBytes)
	}
	pg := parsePage(c, &pr)
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}
	f.AfterAt, f.AfterID, f.Limit = pg.AfterAt, pg.AfterID, pg.Limit
	rows, err := s.DB.ListDeliveries(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	items := make([]deliveryJSON, 0, len(rows))
	for _, d := range rows {
		items = append(items, toDeliveryJSON(d))
	}
	next := nextCursor(pg, rows, func(d *postgres.Delivery) (time.Time, string) { return d.CreatedAt, d.ID })
	c.JSON(http.StatusOK, gin.H{"data": items, "next_cursor": next})
}

// redeliver serves POST /v1/webhook-deliveries/{id}/redeliver: the
// delivery goes out again (postgres.DB.Redeliver says which may).
func (s *Server) redeliver(c *gin.Context) {
	var req struct{}
	if !s.optionalBody(c, &req) {
		return
	}
	d, err := s.DB.Redeliver(c.Request.Context(), c.Param("id"), s.Now())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, toDeliveryJSON(d))
}
