package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
)

// remediationDB holds a course, an outage of 50 hours that ended on
// 10 March, and orders o1..o5 bought before it ended.
func remediationDB(t *testing.T) (*postgres.DB, *refundflow.Outage) {
	t.Helper()
	db := pgtest.Open(t)
	seedProduct(t, db)
	ctx := context.Background()
	for _, id := range []string{"o1", "o2", "o3", "o4", "o5"} {
		o := newOrder()
		o.ID, o.LearnerID, o.PaymentIntent = id, "l-"+id, "pi_"+id
		if _, err := db.UpsertOrder(ctx, o, postgres.DefaultPolicyV1); err != nil {
			t.Fatal(err)
		}
	}
	late := newOrder()
	late.ID, late.PurchasedAt = "o9-late", time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)
	if _, err := db.UpsertOrder(ctx, late, postgres.DefaultPolicyV1); err != nil {
		t.Fatal(err)
	}
	ended := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	out := &refundflow.Outage{ID: "out-1", StartedAt: ended.Add(-50 * time.Hour), EndedAt: &ended}
	if err := db.CreateOutage(ctx, out); err != nil {
		t.Fatal(err)
	}
	return db, out
}

func caseIDs(p postgres.OutagePage) []string {
	var ids []string
	for _, c := range p.Cases {
		ids = append(ids, c.OrderID+"="+c.RefundID)
	}
	return ids
}

func TestOpeningAPageAgainFindsTheSameCasesAndOpensNoNewOnes(t *testing.T) {
	db, out := remediationDB(t)
	ctx := context.Background()
	run, created, err := db.StartRemediation(ctx, out, refundflow.RemediateRefund, "key_admin")
	if err != nil || !created || run.Total != 5 {
		t.Fatalf("start: %+v %v %v, want 5 affected orders (not the one bought after the outage)", run, created, err)
	}
	if again, created, err := db.StartRemediation(ctx, out, refundflow.RemediateOffer, "key_other"); err != nil || created || again.Mode != refundflow.RemediateRefund {
		t.Fatalf("second start: %+v %v %v, want the first run back", again, created, err)
	}

	first, err := db.OpenOutageCases(ctx, out.ID, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.OpenOutageCases(ctx, out.ID, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Cases) != 3 || first.Next != "o3" || first.Last || !slices.Equal(caseIDs(first), caseIDs(again)) {
		t.Fatalf("first %+v, again %+v", first, again)
	}
	if c := first.Cases[0]; c.RefundID != postgres.OutageRefundID(out.ID, "o1") || c.Adopted {
		t.Fatalf("case %+v", c)
	}
	rc, err := db.GetRefund(ctx, first.Cases[0].RefundID)
	if err != nil || rc.Reason != "technical_failure" || rc.Status != refundflow.StatusEvaluating || rc.SubmittedBy != "key_admin" {
		t.Fatalf("case row %+v: %v", rc, err)
	}
	rest, err := db.OpenOutageCases(ctx, out.ID, first.Next, 3)
	if err != nil || len(rest.Cases) != 2 || !rest.Last || rest.Next != "o5" {
		t.Fatalf("rest %+v: %v", rest, err)
	}
	prog, err := db.GetRemediationProgress(ctx, out.ID)
	if err != nil || prog != (postgres.RemediationProgress{Opened: 5, Active: 5}) {
		t.Fatalf("progress %+v: %v", prog, err)
	}
}

// A learner who asked for a refund before the remediation keeps that case:
// the remediation counts it instead of opening a second one.
func TestOrderWithAnOpenCaseOfItsOwnIsAdopted(t *testing.T) {
	db, out := remediationDB(t)
	ctx := context.Background()
	o2, err := db.GetOrder(ctx, "o2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.InsertRefund(ctx, postgres.NewRefund{ID: "rf-own", Order: o2, Reason: "quality_issue", SubmittedBy: "key_platform", RequestHash: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.StartRemediation(ctx, out, refundflow.RemediateRefund, "key_admin"); err != nil {
		t.Fatal(err)
	}
	page, err := db.OpenOutageCases(ctx, out.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if c := page.Cases[1]; c.OrderID != "o2" || c.RefundID != "rf-own" || !c.Adopted {
		t.Fatalf("case of o2 %+v", c)
	}
	again, err := db.OpenOutageCases(ctx, out.ID, "", 10)
	if err != nil || again.Cases[1] != page.Cases[1] {
		t.Fatalf("again %+v: %v", again.Cases, err)
	}
}

func TestCanceledRemediationOpensNothingUntilResumed(t *testing.T) {
	db, out := remediationDB(t)
	ctx := context.Background()
	if _, _, err := db.StartRemediation(ctx, out, refundflow.RemediateRefund, "key_admin"); err != nil {
		t.Fatal(err)
	}
	if _, canceled, err := db.CancelRemediation(ctx, out.ID); err != nil || !canceled {
		t.Fatalf("cancel: %v %v", canceled, err)
	}
	if _, canceled, err := db.CancelRemediation(ctx, out.ID); err != nil || canceled {
		t.Fatalf("second cancel: %v %v, want no change", canceled, err)
	}
	page, err := db.OpenOutageCases(ctx, out.ID, "", 10)
	if err != nil || !page.Canceled || len(page.Cases) != 0 {
		t.Fatalf("page %+v: %v", page, err)
	}
	if done, err := db.CompleteRemediation(ctx, out.ID, time.Now()); err != nil || done {
		t.Fatalf("complete: %v %v, a canceled run stays canceled", done, err)
	}
	run, err := db.ResumeRemediation(ctx, out.ID)
	if err != nil || run.Status != refundflow.RemediationRunning {
		t.Fatalf("resume: %+v %v", run, err)
	}
	if page, err := db.OpenOutageCases(ctx, out.ID, "", 10); err != nil || len(page.Cases) != 5 {
		t.Fatalf("page after resume %+v: %v", page, err)
	}
}

// The console lists many outages: their runs and progress are read for
// all of them at once, each under its own outage, and an outage without a
// remediation has neither.
func TestRemediationsAndProgressOfSeveralOutagesAtOnce(t *testing.T) {
	db, out := remediationDB(t)
	ctx := context.Background()
	ended := *out.EndedAt
	quiet := &refundflow.Outage{ID: "out-quiet", StartedAt: ended.Add(-30 * time.Hour), EndedAt: &ended}
	if err := db.CreateOutage(ctx, quiet); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.StartRemediation(ctx, out, refundflow.RemediateRefund, "key_admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenOutageCases(ctx, out.ID, "", 2); err != nil {
		t.Fatal(err)
	}

	ids := []string{out.ID, quiet.ID, "out-unknown"}
	runs, err := db.RemediationsOf(ctx, ids)
	if err != nil || len(runs) != 1 || runs[out.ID] == nil || runs[out.ID].Total != 5 || runs[out.ID].Mode != refundflow.RemediateRefund {
		t.Fatalf("runs %+v: %v", runs, err)
	}
	progress, err := db.RemediationProgressOf(ctx, ids)
	if err != nil || len(progress) != 1 || progress[out.ID] != (postgres.RemediationProgress{Opened: 2, Active: 2}) {
		t.Fatalf("progress %+v: %v", progress, err)
	}
	if one, err := db.GetRemediationProgress(ctx, quiet.ID); err != nil || one != (postgres.RemediationProgress{}) {
		t.Fatalf("an outage without a remediation: %+v, %v", one, err)
	}
}
