package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres/sqlgen"
	"github.com/refundflow/refundflow/refund"
)

// RefundCase is a case as the read model holds it: the row, its offers,
// approvals and timeline.
type RefundCase struct {
	ID               string
	OrderID          string
	LearnerID        string
	ProductID        string
	Reason           policy.Reason
	Description      string
	Evidence         []string
	SkipRetention    bool
	SubmittedBy      string
	IdempotencyKey   string
	RequestHash      []byte
	Status           refundflow.RefundStatus
	Currency         money.Currency
	Decision         *policy.Decision
	Amount           *int64
	EscalationLevel  int
	SLADueAt         *time.Time
	OfferExpiresAt   *time.Time
	AppealUntil      *time.Time
	Appealed         bool
	ProviderRefundID string
	PaymentStatus    string
	PaymentAmount    *int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
	ClosedAt         *time.Time
	// LastSeq is the sequence number of the last step recorded (0: none
	// since the case was opened).
	LastSeq int

	Offers    []refundflow.Offer
	Approvals []refund.Approval
	Timeline  []refund.TimelineEntry
}

// NewRefund is a request as the API accepted it.
type NewRefund struct {
	ID             string
	Order          *refundflow.Order
	Reason         policy.Reason
	Description    string
	Evidence       []string
	SkipRetention  bool
	SubmittedBy    string
	IdempotencyKey string
	RequestHash    []byte
}

// InsertRefund records a new case of the order as "evaluating", with the
// order's learner, product and currency as they stand. It fails with
// ECONFLICT "refund_in_progress" when the order already has an open case
// (the error's Field holds that case's id) and with ECONFLICT
// "idempotency_key_used" when the key was used before.
func (db *DB) InsertRefund(ctx context.Context, n NewRefund) (*RefundCase, error) {
	var key *string
	if n.IdempotencyKey != "" {
		key = &n.IdempotencyKey
	}
	row, err := db.q.InsertRefund(ctx, sqlgen.InsertRefundParams{
		ID: n.ID, OrderID: n.Order.ID, Reason: string(n.Reason), Description: n.Description, Evidence: nonNil(n.Evidence),
		SkipRetention: n.SkipRetention, SubmittedBy: n.SubmittedBy, IdempotencyKey: key, RequestHash: n.RequestHash,
	})
	if isNoRows(err) {
		return nil, &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "unknown_order", Field: "order_id",
			Message: fmt.Sprintf("order %q is not known", n.Order.ID)}
	}
	if err != nil {
		switch constraintName(err) {
		case "refunds_one_open_case_per_order":
			open, gerr := db.q.GetOpenRefundForOrder(ctx, n.Order.ID)
			if gerr != nil {
				return nil, gerr
			}
			return nil, &refundflow.Error{Kind: refundflow.ECONFLICT, Code: "refund_in_progress", Field: "order_id",
				Message: fmt.Sprintf("order %s already has an open refund case %s", n.Order.ID, open.ID),
				Details: []*refundflow.Error{{Kind: refundflow.ECONFLICT, Code: "open_refund_id", Message: open.ID}}}
		case "refunds_submitted_by_idempotency_key_key":
			return nil, refundflow.Errorf(refundflow.ECONFLICT, "idempotency_key_used", "Idempotency-Key %q was already used", n.IdempotencyKey)
		}
		return nil, fmt.Errorf("insert refund %s: %w", n.ID, err)
	}
	return caseFromRow(row)
}

// GetRefundByIdempotencyKey returns the case a key created, or ENOTFOUND.
func (db *DB) GetRefundByIdempotencyKey(ctx context.Context, submittedBy, key string) (*RefundCase, error) {
	row, err := db.q.GetRefundByIdempotencyKey(ctx, sqlgen.GetRefundByIdempotencyKeyParams{SubmittedBy: submittedBy, IdempotencyKey: &key})
	if err != nil {
		return nil, notFound(err, "no case for Idempotency-Key %q", key)
	}
	return caseFromRow(row)
}

// GetRefund returns a case with its offers, approvals and timeline.
func (db *DB) GetRefund(ctx context.Context, id string) (*RefundCase, error) {
	row, err := db.q.GetRefund(ctx, id)
	if err != nil {
		return nil, notFound(err, "refund %q not found", id)
	}
	c, err := caseFromRow(row)
	if err != nil {
		return nil, err
	}
	offers, err := db.q.ListOffers(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, o := range offers {
		c.Offers = append(c.Offers, offerFromRow(o))
	}
	approvals, err := db.q.ListApprovals(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, a := range approvals {
		c.Approvals = append(c.Approvals, approvalFromRow(a))
	}
	timeline, err := db.q.ListTimeline(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, t := range timeline {
		e := refund.TimelineEntry{Seq: int(t.Seq), At: t.At.UTC(), Event: t.Event, Status: refundflow.RefundStatus(t.Status)}
		if err := json.Unmarshal(t.Actor, &e.Actor); err != nil {
			return nil, fmt.Errorf("refund %s timeline actor: %w", id, err)
		}
		if err := json.Unmarshal(t.Detail, &e.Detail); err != nil {
			return nil, fmt.Errorf("refund %s timeline detail: %w", id, err)
		}
		c.Timeline = append(c.Timeline, e)
	}
	return c, nil
}

// RefundFilter narrows a list of cases.
type RefundFilter struct {
	Status    refundflow.RefundStatus
	OrderID   string
	LearnerID string
	// After is the (created_at, id) of the last case of the previous page.
	AfterAt *time.Time
	AfterID string
	Limit   int
}

// ListRefunds returns cases newest first, without offers and timeline.
func (db *DB) ListRefunds(ctx context.Context, f RefundFilter) ([]*RefundCase, error) {
	p := sqlgen.ListRefundsParams{MaxRows: int32(f.Limit), CursorAt: f.AfterAt}
	if f.Status != "" {
		s := string(f.Status)
		p.Status = &s
	}
	if f.OrderID != "" {
		p.OrderID = &f.OrderID
	}
	if f.LearnerID != "" {
		p.LearnerID = &f.LearnerID
	}
	if f.AfterAt != nil {
		p.CursorID = &f.AfterID
	}
	rows, err := db.q.ListRefunds(ctx, p)
	if err != nil {
		return nil, err
	}
	return fromRows(rows, caseFromRow)
}

func caseFromRow(r sqlgen.Refund) (*RefundCase, error) {
	c := &RefundCase{
		ID: r.ID, OrderID: r.OrderID, LearnerID: r.LearnerID, ProductID: r.ProductID,
		Reason: policy.Reason(r.Reason), Description: r.Description, Evidence: nonNil(r.Evidence),
		SkipRetention: r.SkipRetention, SubmittedBy: r.SubmittedBy, RequestHash: r.RequestHash,
		Status: refundflow.RefundStatus(r.Status), Currency: money.Currency(r.Currency), Amount: r.Amount,
		EscalationLevel: int(r.EscalationLevel), SLADueAt: utcPtr(r.SlaDueAt), OfferExpiresAt: utcPtr(r.OfferExpiresAt),
		AppealUntil: utcPtr(r.AppealUntil), Appealed: r.Appealed, PaymentAmount: r.PaymentAmount,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), ClosedAt: utcPtr(r.ClosedAt),
		LastSeq: int(r.LastSeq),
	}
	if r.IdempotencyKey != nil {
		c.IdempotencyKey = *r.IdempotencyKey
	}
	if r.ProviderRefundID != nil {
		c.ProviderRefundID = *r.ProviderRefundID
	}
	if r.PaymentStatus != nil {
		c.PaymentStatus = *r.PaymentStatus
	}
	if len(r.Decision) > 0 {
		var d policy.Decision
		if err := json.Unmarshal(r.Decision, &d); err != nil {
			return nil, fmt.Errorf("refund %s decision: %w", r.ID, err)
		}
		c.Decision = &d
	}
	return c, nil
}

func approvalFromRow(a sqlgen.RefundApproval) refund.Approval {
	return refund.Approval{
		Action: a.Action, Amount: a.Amount, Note: a.Note, Level: int(a.Level), At: a.At.UTC(),
		Approver: refundflow.Actor{Kind: "approver", ID: a.ApproverID, Name: a.ApproverName},
	}
}

func offerFromRow(o sqlgen.RefundOffer) refundflow.Offer {
	out := refundflow.Offer{
		ID: o.ID, Kind: refundflow.OfferKind(o.Kind), Title: o.Title, Detail: o.Detail,
		ExpiresAt: o.ExpiresAt.UTC(), ProductID: o.ProductID,
	}
	if o.Answer != nil {
		out.Answer = *o.Answer
	}
	return out
}

// RecordStep writes a step of a case and what it sends in one
// transaction. It is idempotent (a step is keyed by its sequence number,
// its messages by their ids) and order-proof (an older step never
// overwrites the snapshot of a newer one).
func (db *DB) RecordStep(ctx context.Context, s refund.Step, out notify.Outbox) error {
	return db.InTx(ctx, func(q *sqlgen.Queries) error {
		if err := recordStep(ctx, q, s); err != nil {
			return err
		}
		return writeOutbox(ctx, q, out)
	})
}

// recordStep writes a step within a transaction: the snapshot, the
// timeline entry, and what the step decided.
func recordStep(ctx context.Context, q *sqlgen.Queries, s refund.Step) error {
	detail, err := json.Marshal(nonNilMap(s.Detail))
	if err != nil {
		return err
	}
	actor, err := json.Marshal(s.Actor)
	if err != nil {
		return err
	}
	var decision json.RawMessage
	if s.Decision != nil {
		if decision, err = json.Marshal(s.Decision); err != nil {
			return err
		}
	}
	replaced, err := rewindRefund(ctx, q, s, actor)
	if err != nil {
		return err
	}
	if len(replaced) > 0 {
		d := nonNilMap(s.Detail)
		d["replaces"] = replaced
		if detail, err = json.Marshal(d); err != nil {
			return err
		}
	}
	snap := s.Snapshot
	if _, err := q.RecordRefundStep(ctx, sqlgen.RecordRefundStepParams{
		ID: s.RefundID, Status: string(snap.Status), Decision: decision, Amount: snap.Amount,
		EscalationLevel: int32(snap.EscalationLevel), SlaDueAt: snap.SLADueAt, OfferExpiresAt: snap.OfferExpiresAt,
		AppealUntil: snap.AppealUntil, Appealed: snap.Appealed, ProviderRefundID: emptyNil(snap.ProviderRefundID),
		PaymentStatus: emptyNil(snap.PaymentStatus), PaymentAmount: snap.PaymentAmount, ClosedAt: snap.ClosedAt,
		LastSeq: int32(s.Seq), At: s.At,
	}); err != nil {
		return fmt.Errorf("record step %d of refund %s: %w", s.Seq, s.RefundID, err)
	}
	if err := q.InsertTimelineEntry(ctx, sqlgen.InsertTimelineEntryParams{
		RefundID: s.RefundID, Seq: int32(s.Seq), At: s.At, Actor: actor, Event: s.Event,
		Status: string(snap.Status), Detail: detail,
	}); err != nil {
		return err
	}
	for i, o := range s.Offers {
		if err := q.InsertOffer(ctx, sqlgen.InsertOfferParams{
			RefundID: s.RefundID, ID: o.ID, Kind: string(o.Kind), Title: o.Title, Detail: o.Detail,
			ProductID: o.ProductID, ExpiresAt: o.ExpiresAt, Position: int32(i),
		}); err != nil {
			return err
		}
	}
	if a := s.Approval; a != nil {
		if err := q.InsertApproval(ctx, sqlgen.InsertApprovalParams{
			RefundID: s.RefundID, Seq: int32(s.Seq), Action: a.Action, ApproverID: a.Approver.ID,
			ApproverName: a.Approver.Name, Amount: a.Amount, Note: a.Note, Level: int32(a.Level), At: s.At,
		}); err != nil {
			return err
		}
	}
	if a := s.OfferAnswer; a != nil {
		if err := q.AnswerOffers(ctx, sqlgen.AnswerOffersParams{
			RefundID: s.RefundID, AcceptedID: a.Accepted, OthersAnswer: &a.Others, At: &s.At,
		}); err != nil {
			return err
		}
	}
	return nil
}

// rewindRefund makes the read model follow the workflow where the two
// disagree. A step holds its sequence number for good, and writing it
// again (a retried local activity) changes nothing; but a step written by
// an update whose workflow task the Temporal server lost (it died before
// storing it) was never taken: the workflow takes another step with that
// number. When the step at s.Seq is not the one recorded there, the
// recorded steps from s.Seq on are forgotten — timeline entries,
// approvals, offer answers, the snapshot's position — and the events they
// were are returned, for the new entry to say what it replaces (their
// messages went out; the audit trail shows both).
func rewindRefund(ctx context.Context, q *sqlgen.Queries, s refund.Step, actor []byte) ([]string, error) {
	held, err := q.GetTimelineEntry(ctx, sqlgen.GetTimelineEntryParams{RefundID: s.RefundID, Seq: int32(s.Seq)})
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if held.Event == s.Event && held.Status == string(s.Snapshot.Status) && sameJSON(held.Actor, actor) {
		return nil, nil
	}
	gone, err := q.DeleteTimelineFrom(ctx, sqlgen.DeleteTimelineFromParams{RefundID: s.RefundID, Seq: int32(s.Seq)})
	if err != nil {
		return nil, err
	}
	if err := q.DeleteApprovalsFrom(ctx, sqlgen.DeleteApprovalsFromParams{RefundID: s.RefundID, Seq: int32(s.Seq)}); err != nil {
		return nil, err
	}
	since := held.At
	if err := q.ReopenOffersAnsweredSince(ctx, sqlgen.ReopenOffersAnsweredSinceParams{RefundID: s.RefundID, Since: &since}); err != nil {
		return nil, err
	}
	if err := q.RewindRefundTo(ctx, sqlgen.RewindRefundToParams{ID: s.RefundID, LastSeq: int32(s.Seq - 1)}); err != nil {
		return nil, err
	}
	slices.SortFunc(gone, func(a, b sqlgen.DeleteTimelineFromRow) int { return cmp.Compare(a.Seq, b.Seq) })
	events := make([]string, 0, len(gone))
	for _, g := range gone {
		events = append(events, g.Event)
	}
	return events, nil
}

// sameJSON reports whether two JSON documents say the same.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// fromRows converts the rows of a query with conv, stopping at the first
// row it cannot convert.
func fromRows[R, T any](rows []R, conv func(R) (T, error)) ([]T, error) {
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		t, err := conv(r)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func emptyNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// CaseFacts is what a step's messages say about a case besides the step
// itself: the order's learner and their language, the product's title, the
// reason and the decision.
type CaseFacts struct {
	ID, OrderID, LearnerID, ProductID string
	Reason                            policy.Reason
	Currency                          money.Currency
	Decision                          *policy.Decision
	LearnerEmail                      string
	Locale                            refundflow.Locale
	ProductTitle                      string
}

// CaseFacts reads the facts of case id for its messages.
func (db *DB) CaseFacts(ctx context.Context, id string) (*CaseFacts, error) {
	r, err := db.q.GetCaseForMessages(ctx, id)
	if err != nil {
		return nil, notFound(err, "refund %q not found", id)
	}
	f := &CaseFacts{
		ID: r.ID, OrderID: r.OrderID, LearnerID: r.LearnerID, ProductID: r.ProductID, Reason: policy.Reason(r.Reason),
		Currency: money.Currency(r.Currency), LearnerEmail: r.LearnerEmail, Locale: refundflow.Locale(r.Locale),
		ProductTitle: r.ProductTitle,
	}
	if len(r.Decision) > 0 {
		var d policy.Decision
		if err := json.Unmarshal(r.Decision, &d); err != nil {
			return nil, fmt.Errorf("refund %s decision: %w", id, err)
		}
		f.Decision = &d
	}
	return f, nil
}

// Offers lists the offers made on a case, in the order they were made.
func (db *DB) Offers(ctx context.Context, refundID string) ([]refundflow.Offer, error) {
	rows, err := db.q.ListOffers(ctx, refundID)
	if err != nil {
		return nil, err
	}
	out := make([]refundflow.Offer, 0, len(rows))
	for _, o := range rows {
		out = append(out, offerFromRow(o))
	}
	return out, nil
}

// LastRejectionNote is the reason of a case's latest rejection by a person,
// when its latest approval is a rejection.
func (db *DB) LastRejectionNote(ctx context.Context, refundID string) (string, bool, error) {
	note, err := db.q.LastRejectionNote(ctx, refundID)
	if isNoRows(err) {
		return "", false, nil
	}
	return note, err == nil, err
}
