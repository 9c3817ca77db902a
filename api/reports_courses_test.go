package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/refund"
)

// monitoredCourses stores four courses, three refunding 1 of their 20
// orders, one 12 of 20 for quality, and runs the refund-rate monitor.
func monitoredCourses(t *testing.T, e *env, at time.Time) {
	t.Helper()
	ctx := context.Background()
	for course, refunded := range map[string]int{"steady-a": 1, "steady-b": 1, "steady-c": 1, "spiking": 12} {
		p := &refundflow.Product{ID: course, Type: refundflow.RecordedCourse, Title: "Course " + course, LessonsTotal: 10}
		if _, err := e.db.UpsertProduct(ctx, p); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			o := &refundflow.Order{
				ID: fmt.Sprintf("%s-%02d", course, i), LearnerID: fmt.Sprintf("l-%s-%02d", course, i), LearnerEmail: "l@example.com",
				Locale: refundflow.LocaleEn, ProductID: course, Amount: 19900, Currency: "CNY",
				PurchasedAt: at.Add(-5 * 24 * time.Hour), PaymentIntent: "pi_" + course + fmt.Sprint(i),
			}
			if _, err := e.db.UpsertOrder(ctx, o, postgres.DefaultPolicyV1); err != nil {
				t.Fatal(err)
			}
			if i >= refunded {
				continue
			}
			rc, err := e.db.InsertRefund(ctx, postgres.NewRefund{ID: "rf-" + o.ID, Order: o, Reason: "quality_issue", SubmittedBy: "k", RequestHash: []byte("h")})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.db.RecordStep(ctx, refund.Step{RefundID: rc.ID, Seq: 1, At: at, Actor: refundflow.SystemActor, Event: "refunded",
				Snapshot: refund.Snapshot{Status: refundflow.StatusRefunded}}, notify.Outbox{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	acts := &activities.Activities{DB: e.db}
	if _, err := acts.MonitorCourses(ctx, contract.MonitorInput{At: at, Window: 30 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
}

func TestCoursesReportIsEmptyUntilTheMonitorRuns(t *testing.T) {
	e := newEnv(t)
	r := e.do(approver, "GET", "/v1/reports/courses", nil)
	got := r.json(t)
	if r.Status != http.StatusOK || got["window"] != nil || len(got["courses"].([]any)) != 0 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if r := e.do(admin, "GET", "/v1/reports/courses?format=xml", nil); r.Status != http.StatusBadRequest {
		t.Fatalf("format xml: %d", r.Status)
	}
}

func TestCoursesReportShowsTheFiguresAndFlagsAsJSONAndCSV(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2026, 3, 20, 18, 0, 0, 0, time.UTC)
	monitoredCourses(t, e, at)

	got := e.do(approver, "GET", "/v1/reports/courses", nil).json(t)
	courses := got["courses"].([]any)
	top := courses[0].(map[string]any)
	if len(courses) != 4 || top["course_id"] != "spiking" || top["refund_rate"] != 0.6 || top["refunds"] != float64(12) {
		t.Fatalf("courses %v", courses)
	}
	flag := top["flag"].(map[string]any)
	if kinds := flag["kinds"].([]any); len(kinds) != 2 || flag["ticket_id"] != nil {
		t.Fatalf("flag %v", flag)
	}
	if courses[1].(map[string]any)["flag"] != nil || got["median_refund_rate"] != 0.05 {
		t.Fatalf("report %v", got)
	}

	r := e.do(admin, "GET", "/v1/reports/courses?format=csv", nil)
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil || len(rows) != 5 {
		t.Fatalf("csv rows %v: %v", rows, err)
	}
	want := []string{"spiking", "Course spiking", "20", "12", "0.6000", "0.0500", "quality_issue=12", "", "refund_rate;reason_share"}
	if got := rows[1][2:11]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("csv row %v, want %v", got, want)
	}
}

// Text from outside — a course title, a creator account — reaches every
// CSV export neutralised, while the numbers, negative ones too, stay
// numbers a spreadsheet can add up.
func TestCSVExportsNeutraliseFormulasAndKeepNumbers(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2026, 3, 20, 18, 0, 0, 0, time.UTC)
	monitoredCourses(t, e, at)
	hostile := "=SUM(1+1)*cmd|' /C calc'!A0"
	if _, err := e.db.UpsertProduct(context.Background(), &refundflow.Product{ID: "spiking", Type: refundflow.RecordedCourse, Title: hostile, LessonsTotal: 10}); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, e.do(admin, "GET", "/v1/reports/courses?format=csv", nil))
	if rows[1][2] != "spiking" || rows[1][3] != "'"+hostile {
		t.Fatalf("courses CSV row %v: the title is not neutralised", rows[1])
	}

	seedSettledRefund(t, e, "l1", 19900, "re_l1", "succeeded")
	ledger := readCSV(t, e.do(approver, "GET", "/v1/reports/ledger?format=csv", nil))
	if !slices.ContainsFunc(ledger, func(row []string) bool { return row[2] == "stripe_balance" && row[6] == "-19900" }) {
		t.Fatalf("the ledger's negative net is not a plain number: %v", ledger)
	}
}
