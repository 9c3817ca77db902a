package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// RemediationRun is the remediation of one outage.
type RemediationRun struct {
	OutageID string
	Mode     string
	Status   string
	// Total is the number of affected orders when it started, exact once
	// AllOpened.
	Total int
	// NextOrderID is the order id the next page starts after: every case
	// up to it has its workflow.
	NextOrderID string
	AllOpened   bool
	StartedBy   string
	StartedAt   time.Time
	FinishedAt  *time.Time
}

// RemediationProgress is where a remediation's cases stand.
type RemediationProgress struct {
	Opened, Done, Refunded, Retained, Failed int
	// Active counts cases the engine still works on before the money
	// moves; cases waiting for a learner or an approver are not active.
	Active int
}

// StartRemediation records the remediation of an outage as running, with
// the number of orders it affects now. When the outage has one already, it
// returns that one and created is false.
func (db *DB) StartRemediation(ctx context.Context, o *refundflow.Outage, mode, startedBy string) (run *RemediationRun, created bool, err error) {
	if o.EndedAt == nil {
		return nil, false, fmt.Errorf("remediate outage %s: it has not ended", o.ID)
	}
	row, err := db.q.InsertRemediationRun(ctx, sqlgen.InsertRemediationRunParams{
		OutageID: o.ID, Mode: mode, StartedBy: startedBy, ProductIds: nonNil(o.ProductIDs), EndedAt: *o.EndedAt,
	})
	if isNoRows(err) {
		run, err := db.GetRemediation(ctx, o.ID)
		return run, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("remediate outage %s: %w", o.ID, err)
	}
	return runFromRow(row), true, nil
}

// GetRemediation returns an outage's remediation, or ENOTFOUND when it has
// none.
func (db *DB) GetRemediation(ctx context.Context, outageID string) (*RemediationRun, error) {
	row, err := db.q.GetRemediationRun(ctx, outageID)
	if err != nil {
		return nil, notFound(err, "outage %q has no remediation", outageID)
	}
	return runFromRow(row), nil
}

// ResumeRemediation sets a canceled remediation running again; it returns
// ECONFLICT when the remediation is not canceled.
func (db *DB) ResumeRemediation(ctx context.Context, outageID string) (*RemediationRun, error) {
	row, err := db.q.ResumeRemediationRun(ctx, outageID)
	if isNoRows(err) {
		return nil, refundflow.Errorf(refundflow.ECONFLICT, "remediation_not_canceled", "the remediation of outage %s is not canceled", outageID)
	}
	if err != nil {
		return nil, err
	}
	return runFromRow(row), nil
}

// CancelRemediation stops a running remediation from opening more cases:
// the page being opened, if any, finishes first (it holds the run's row).
// It reports false when the remediation was not running.
func (db *DB) CancelRemediation(ctx context.Context, outageID string) (*RemediationRun, bool, error) {
	row, err := db.q.CancelRemediationRun(ctx, outageID)
	if isNoRows(err) {
		run, err := db.GetRemediation(ctx, outageID)
		return run, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return runFromRow(row), true, nil
}

// CompleteRemediation marks a remediation whose cases are all open as
// completed; it reports false when it was canceled meanwhile.
func (db *DB) CompleteRemediation(ctx context.Context, outageID string, at time.Time) (bool, error) {
	n, err := db.q.CompleteRemediationRun(ctx, sqlgen.CompleteRemediationRunParams{OutageID: outageID, At: &at})
	return n == 1, err
}

// GetRemediationProgress counts a remediation's cases by where they stand.
func (db *DB) GetRemediationProgress(ctx context.Context, outageID string) (RemediationProgress, error) {
	progress, err := db.RemediationProgressOf(ctx, []string{outageID})
	return progress[outageID], err
}

// RemediationProgressOf is GetRemediationProgress for several outages in
// one query, by outage id (an outage without cases has no entry).
func (db *DB) RemediationProgressOf(ctx context.Context, outageIDs []string) (map[string]RemediationProgress, error) {
	rows, err := db.q.RemediationProgress(ctx, outageIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]RemediationProgress, len(rows))
	for _, r := range rows {
		out[r.OutageID] = RemediationProgress{
			Opened: int(r.Opened), Done: int(r.Done), Refunded: int(r.Refunded),
			Retained: int(r.Retained), Failed: int(r.Failed), Active: int(r.Active),
		}
	}
	return out, nil
}

// RemediationsOf returns the remediation runs of the outages that have
// one, by outage id, in one query.
func (db *DB) RemediationsOf(ctx context.Context, outageIDs []string) (map[string]*RemediationRun, error) {
	rows, err := db.q.ListRemediationRuns(ctx, outageIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*RemediationRun, len(rows))
	for _, r := range rows {
		out[r.OutageID] = runFromRow(r)
	}
	return out, nil
}

// OutageRefundID is the id of the case an outage's remediation opens for an
// order: the same outage and order always give the same case, so no retry,
// crash or resumed run can open a second one.
func OutageRefundID(outageID, orderID string) string {
	sum := sha256.Sum256([]byte(outageID + "\x00" + orderID))
	return "rfo_" + hex.EncodeToString(sum[:12])
}

// OutageCase is the case an affected order got.
type OutageCase struct {
	RefundID  string
	OrderID   string
	ProductID string
	Currency  string
	// Adopted: the learner had an open case for the order already; that
	// case stands for the remediation and has its own workflow.
	Adopted bool
}

// OutagePage is one page of cases opened by a remediation.
type OutagePage struct {
	Cases []OutageCase
	// Next is the order id the next page starts after.
	Next string
	// Last: no orders are left after this page.
	Last bool
	// Canceled: the remediation was canceled; nothing was opened.
	Canceled bool
}

// OpenOutageCases opens the cases of the next page of affected orders
// (after the order id after, at most limit), in one transaction that holds
// the remediation's row: a cancellation lands between two pages, never in
// one. Opening a page again opens nothing new and returns the same cases,
// so the caller may retry it after any failure.
func (db *DB) OpenOutageCases(ctx context.Context, outageID, after string, limit int) (OutagePage, error) {
	var page OutagePage
	err := db.InTx(ctx, func(q *sqlgen.Queries) error {
		page = OutagePage{}
		run, err := q.LockRemediationRun(ctx, outageID)
		if err != nil {
			return notFound(err, "outage %q has no remediation", outageID)
		}
		if run.Status != refundflow.RemediationRunning {
			page.Canceled = true
			return nil
		}
		outage, err := q.GetOutage(ctx, outageID)
		if err != nil {
			return err
		}
		if outage.EndedAt == nil {
			return refundflow.Errorf(refundflow.ECONFLICT, "outage_not_ended", "outage %s has not ended", outageID)
		}
		orders, err := q.AffectedOrdersPage(ctx, sqlgen.AffectedOrdersPageParams{
			AfterID: after, ProductIds: nonNil(outage.ProductIds), EndedAt: *outage.EndedAt, OutageID: outageID, MaxRows: int32(limit),
		})
		if err != nil {
			return err
		}
		for _, o := range orders {
			c, err := openOutageCase(ctx, q, run, o)
			if err != nil {
				return err
			}
			page.Cases = append(page.Cases, c)
		}
		page.Next, page.Last = after, len(orders) < limit
		if len(orders) > 0 {
			page.Next = orders[len(orders)-1].ID
		}
		return nil
	})
	if err != nil {
		return OutagePage{}, fmt.Errorf("open cases of outage %s after %q: %w", outageID, after, err)
	}
	return page, nil
}

// RemediationPageStarted records that the cases up to order id next have
// their workflows: a resumed remediation starts after it. last says no
// orders are left, which makes total exact.
func (db *DB) RemediationPageStarted(ctx context.Context, outageID, next string, last bool) error {
	return db.q.AdvanceRemediationRun(ctx, sqlgen.AdvanceRemediationRunParams{OutageID: outageID, NextOrderID: next, AllOpened: last})
}

func openOutageCase(ctx context.Context, q *sqlgen.Queries, run sqlgen.RemediationRun, o sqlgen.AffectedOrdersPageRow) (OutageCase, error) {
	c := OutageCase{OrderID: o.ID, ProductID: o.ProductID, Currency: o.Currency}
	item, err := q.GetRemediationItem(ctx, sqlgen.GetRemediationItemParams{OutageID: run.OutageID, OrderID: o.ID})
	switch {
	case err == nil:
		c.RefundID, c.Adopted = item.RefundID, item.Adopted
		return c, nil
	case !isNoRows(err):
		return c, err
	}
	c.RefundID = OutageRefundID(run.OutageID, o.ID)
	hash := sha256.Sum256([]byte("outage/" + run.OutageID + "/" + o.ID))
	inserted, err := q.InsertRemediationRefund(ctx, sqlgen.InsertRemediationRefundParams{
		ID: c.RefundID, OrderID: o.ID, LearnerID: o.LearnerID, ProductID: o.ProductID,
		Description: fmt.Sprintf("Platform outage %s: remediation (%s)", run.OutageID, run.Mode),
		SubmittedBy: run.StartedBy, RequestHash: hash[:], Currency: o.Currency,
	})
	if err != nil {
		return c, err
	}
	if inserted == 0 {
		exists, err := q.RefundExists(ctx, c.RefundID)
		if err != nil {
			return c, err
		}
		if !exists {
			open, err := q.GetOpenRefundForOrder(ctx, o.ID)
			if err != nil {
				// The order's own case closed between the insert and now:
				// the page is opened again on retry.
				return c, fmt.Errorf("order %s: no case of its own and none opened: %w", o.ID, err)
			}
			c.RefundID, c.Adopted = open.ID, true
		}
	}
	err = q.InsertRemediationItem(ctx, sqlgen.InsertRemediationItemParams{
		OutageID: run.OutageID, OrderID: o.ID, RefundID: c.RefundID, Adopted: c.Adopted,
	})
	return c, err
}

func runFromRow(r sqlgen.RemediationRun) *RemediationRun {
	return &RemediationRun{
		OutageID: r.OutageID, Mode: r.Mode, Status: r.Status, Total: int(r.Total), NextOrderID: r.NextOrderID,
		AllOpened: r.AllOpened, StartedBy: r.StartedBy, StartedAt: r.StartedAt.UTC(), FinishedAt: utcPtr(r.FinishedAt),
	}
}
