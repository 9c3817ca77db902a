package devstack

import (
	"context"
	"fmt"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/postgres"
)

// seedDemo writes the demo catalogue once: a product of every type, a few
// learners, orders at different ages and progress (so that each refund rule
// can be tried), and one 50-hour outage. A second start changes nothing.
func seedDemo(ctx context.Context, db *postgres.DB, now time.Time) error {
	if _, err := db.GetProduct(ctx, "demo-go-basics"); err == nil {
		return nil
	}
	day := 24 * time.Hour
	at := func(d time.Duration) *time.Time { t := now.Add(d).UTC().Truncate(time.Minute); return &t }
	products := []refundflow.Product{
		{ID: "demo-go-basics", Type: refundflow.RecordedCourse, Title: "Go 语言入门 / Go Basics", LessonsTotal: 24, Alternatives: []string{"demo-go-advanced"}},
		{ID: "demo-go-advanced", Type: refundflow.RecordedCourse, Title: "Go 进阶 / Advanced Go", LessonsTotal: 30},
		{ID: "demo-ml-live", Type: refundflow.LiveCourse, Title: "机器学习直播营 / ML Live Bootcamp", SessionsTotal: 12, SessionsHeld: 4, StartsAt: at(-14 * day), CreatorAccount: "acct_demo_creator"},
		{ID: "demo-design-live", Type: refundflow.LiveCourse, Title: "产品设计直播课 / Product Design Live", SessionsTotal: 8, StartsAt: at(5 * day)},
		{ID: "demo-pro-membership", Type: refundflow.Membership, Title: "Pro 会员 / Pro Membership"},
		{ID: "demo-career-consult", Type: refundflow.Consultation, Title: "职业规划 1 对 1 / Career Consultation", AppointmentAt: at(3 * day)},
		{ID: "demo-writing-promo", Type: refundflow.RecordedCourse, Title: "写作特训（特价不退）/ Writing Sprint (promo)", LessonsTotal: 10, NoRefund: true, NoRefundDisclosed: true},
	}
	for i := range products {
		if _, err := db.UpsertProduct(ctx, &products[i]); err != nil {
			return err
		}
	}
	type demoOrder struct {
		order    refundflow.Order
		progress *refundflow.Progress
	}
	o := func(id, learner, email string, locale refundflow.Locale, product string, amount int64, currency string, age time.Duration) refundflow.Order {
		return refundflow.Order{
			ID: id, LearnerID: learner, LearnerEmail: email, Locale: locale, ProductID: product,
			Amount: amount, Currency: money.Currency(currency), PurchasedAt: now.Add(-age).UTC().Truncate(time.Minute),
			PaymentIntent: "pi_" + id,
		}
	}
	renewal := o("demo-order-membership-renewal", "learner-bo", "bo@example.com", refundflow.LocaleEn, "demo-pro-membership", 9900, "USD", 2*day)
	renewal.Renewal = &refundflow.Renewal{PeriodStart: *at(-2 * day)} // charged without a reminder
	orders := []demoOrder{
		{order: o("demo-order-cooling-off", "learner-ada", "ada@example.com", refundflow.LocaleZhCN, "demo-go-basics", 19900, "CNY", 3*time.Hour)},
		{order: o("demo-order-not-as-expected", "learner-ada", "ada@example.com", refundflow.LocaleZhCN, "demo-go-advanced", 29900, "CNY", 3*day),
			progress: &refundflow.Progress{WatchedRatio: 0.05, LessonsCompleted: 1}},
		{order: o("demo-order-deep-in", "learner-chen", "chen@example.com", refundflow.LocaleZhCN, "demo-go-basics", 19900, "CNY", 40*day),
			progress: &refundflow.Progress{WatchedRatio: 0.6, LessonsCompleted: 14}},
		{order: o("demo-order-live-pro-rata", "learner-chen", "chen@example.com", refundflow.LocaleZhCN, "demo-ml-live", 360000, "CNY", 20*day),
			progress: &refundflow.Progress{SessionsAttended: 4}},
		{order: o("demo-order-live-before-start", "learner-bo", "bo@example.com", refundflow.LocaleEn, "demo-design-live", 12900, "USD", 6*day)},
		{order: o("demo-order-large-live", "learner-dai", "dai@example.com", refundflow.LocaleZhCN, "demo-ml-live", 880000, "CNY", 18*day),
			progress: &refundflow.Progress{SessionsAttended: 2}},
		{order: renewal},
		{order: o("demo-order-consult", "learner-eve", "eve@example.com", refundflow.LocaleEn, "demo-career-consult", 50000, "USD", 10*day)},
		{order: o("demo-order-promo", "learner-eve", "eve@example.com", refundflow.LocaleEn, "demo-writing-promo", 2900, "USD", 1*day),
			progress: &refundflow.Progress{LessonsCompleted: 1}},
	}
	for _, d := range orders {
		ord := d.order
		if _, err := db.UpsertOrder(ctx, &ord, postgres.DefaultPolicyV1); err != nil {
			return fmt.Errorf("order %s: %w", ord.ID, err)
		}
		if d.progress != nil {
			if _, err := db.RecordProgress(ctx, ord.ID, *d.progress); err != nil {
				return err
			}
		}
	}
	return db.CreateOutage(ctx, &refundflow.Outage{
		ID: "demo-video-outage", ProductIDs: []string{"demo-ml-live"},
		StartedAt: now.Add(-4 * day).UTC().Truncate(time.Minute), EndedAt: at(-4*day + 50*time.Hour),
		Reason: "视频服务中断 50 小时 / video service down for 50 hours",
	})
}
