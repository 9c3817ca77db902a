package postgres

import (
	"context"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/sla"
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
	cases, err := fromRows(rows, caseFromRow)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*RefundCase, len(cases))
	ids := make([]string, len(cases))
	for i, c := range cases {
		byID[c.ID], ids[i] = c, c.ID
	}
	approvals, err := db.q.ListApprovalsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, a := range approvals {
		c := byID[a.RefundID]
		c.Approvals = append(c.Approvals, approvalFromRow(a))
	}
	return cases, nil
}

// TicketBoard filters the tickets board; zero values do not filter, and
// without a status every ticket that is not closed is on it.
type TicketBoard struct {
	Status   refundflow.TicketStatus
	Tier     sla.Tier
	Level    int
	SLAState string
	Limit    int
}

func (b TicketBoard) level() *int32 {
	if b.Level == 0 {
		return nil
	}
	l := int32(b.Level)
	return &l
}

// ListTicketBoard returns the board's tickets, the most urgent first:
// breached, then warning, then ok, each by its next deadline.
func (db *DB) ListTicketBoard(ctx context.Context, b TicketBoard) ([]*Ticket, error) {
	rows, err := db.q.ListTicketBoard(ctx, sqlgen.ListTicketBoardParams{
		Status: emptyNil(string(b.Status)), Tier: emptyNil(string(b.Tier)), Level: b.level(), SlaState: emptyNil(b.SLAState),
		MaxRows: int32(b.Limit),
	})
	if err != nil {
		return nil, err
	}
	return fromRows(rows, ticketFromRow)
}

// CountTicketBoard counts the board's tickets per SLA state, with every
// filter but the SLA state applied.
func (db *DB) CountTicketBoard(ctx context.Context, b TicketBoard) (map[string]int, error) {
	rows, err := db.q.CountTicketBoard(ctx, sqlgen.CountTicketBoardParams{
		Status: emptyNil(string(b.Status)), Tier: emptyNil(string(b.Tier)), Level: b.level(),
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.SlaState] = int(r.Tickets)
	}
	return out, nil
}

// ListOutages returns the latest outages, newest first.
func (db *DB) ListOutages(ctx context.Context, limit int) ([]*refundflow.Outage, error) {
	rows, err := db.q.ListOutages(ctx, int32(limit))
	if err != nil {
		return nil, err
	}
	out := make([]*refundflow.Outage, 0, len(rows))
	for _, r := range rows {
		o := outageFromRow(r)
		out = append(out, &o)
	}
	return out, nil
}

// ReasonCount is how many cases gave a reason and stand at a status.
type ReasonCount struct {
	Reason string
	Status refundflow.RefundStatus
	Cases  int
}

// RefundReasonsBetween counts the cases opened in [from, to) by reason
// and current status.
func (db *DB) RefundReasonsBetween(ctx context.Context, from, to time.Time) ([]ReasonCount, error) {
	rows, err := db.q.RefundReasonsBetween(ctx, sqlgen.RefundReasonsBetweenParams{FromAt: from, ToAt: to})
	if err != nil {
		return nil, err
	}
	out := make([]ReasonCount, 0, len(rows))
	for _, r := range rows {
		out = append(out, ReasonCount{Reason: r.Reason, Status: refundflow.RefundStatus(r.Status), Cases: int(r.Cases)})
	}
	return out, nil
}
