package stripefake

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

func webhookOptions(rc *receiver) Options {
	return Options{
		WebhookURL:       rc.srv.URL,
		WebhookSecret:    testSecret,
		WebhookRetryBase: 10 * time.Millisecond,
		WebhookRetryMax:  50 * time.Millisecond,
	}
}

func refundIn(t *testing.T, ev stripe.Event) stripe.Refund {
	t.Helper()
	var r stripe.Refund
	if err := json.Unmarshal(ev.Data.Raw, &r); err != nil {
		t.Fatalf("event %s data: %v", ev.ID, err)
	}
	return r
}

func TestPendingRefundFailsWithSignedWebhooks(t *testing.T) {
	rc := newReceiver(t, testSecret)
	fake, sc, _ := startFake(t, webhookOptions(rc), clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.SetBehaviour(pay.PaymentIntent, Behaviour{Status: stripe.RefundStatusPending}); err != nil {
		t.Fatal(err)
	}

	p := refundParams(pay.PaymentIntent, 600, "refund/r1/attempt/1")
	p.AddMetadata("refund_id", "r1")
	r, err := sc.Refunds.New(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != stripe.RefundStatusPending {
		t.Fatalf("refund created %s, want pending", r.Status)
	}
	created := rc.wait(1)[0]
	if created.Type != EventRefundCreated || created.Request.ID != r.LastResponse.RequestID ||
		created.Request.IdempotencyKey != "refund/r1/attempt/1" || created.APIVersion != stripe.APIVersion ||
		created.Object != "event" || created.Livemode || created.PendingWebhooks != 1 {
		t.Fatalf("refund.created event = %+v", created)
	}
	if got := refundIn(t, created); got.ID != r.ID || got.Status != stripe.RefundStatusPending || got.Metadata["refund_id"] != "r1" {
		t.Fatalf("refund.created carries %+v", got)
	}

	// The bank says no.
	if err := fake.SettleRefund(r.ID, stripe.RefundStatusFailed, stripe.RefundFailureReasonExpiredOrCanceledCard); err != nil {
		t.Fatal(err)
	}
	evs := rc.wait(4)
	if got, want := eventTypes(evs[1:]), []string{EventRefundUpdated, EventChargeRefundUpdated, EventRefundFailed}; !slices.Equal(got, want) {
		t.Fatalf("events after failing: %v, want %v", got, want)
	}
	for _, ev := range evs[1:] {
		got := refundIn(t, ev)
		if got.ID != r.ID || got.Status != stripe.RefundStatusFailed || got.FailureReason != stripe.RefundFailureReasonExpiredOrCanceledCard {
			t.Fatalf("%s carries %+v", ev.Type, got)
		}
		if ev.Data.PreviousAttributes["status"] != "pending" || ev.Request.ID != "" {
			t.Fatalf("%s previous_attributes %v request %+v", ev.Type, ev.Data.PreviousAttributes, ev.Request)
		}
	}

	after, err := sc.Refunds.Get(r.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != stripe.RefundStatusFailed || after.FailureBalanceTransaction == nil {
		t.Fatalf("refund after failure: %+v", after)
	}
	// The money is back on the charge: it can be refunded again.
	if got := fake.Snapshot().Payments[pay.PaymentIntent].Refunded; got != 0 {
		t.Fatalf("a failed refund still holds %d", got)
	}
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 1000, "refund/r1/attempt/2")); err != nil {
		t.Fatalf("refunding again after a failure: %v", err)
	}
}

func TestPendingRefundSettlesAfterItsDelay(t *testing.T) {
	rc := newReceiver(t, testSecret)
	fake, sc, _ := startFake(t, webhookOptions(rc), clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.SetBehaviour(pay.PaymentIntent, Behaviour{Status: stripe.RefundStatusPending, After: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	r, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 600, ""))
	if err != nil {
		t.Fatal(err)
	}
	evs := rc.wait(3)
	if got := refundIn(t, evs[2]); evs[2].Type != EventChargeRefundUpdated || got.Status != stripe.RefundStatusSucceeded {
		t.Fatalf("third event %s carries status %s", evs[2].Type, got.Status)
	}
	if got, _ := sc.Refunds.Get(r.ID, nil); got.Status != stripe.RefundStatusSucceeded {
		t.Fatalf("refund is %s after its delay", got.Status)
	}
}

func TestAdvancingTheClockSettlesDueRefunds(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.SetDefaultBehaviour(Behaviour{Status: stripe.RefundStatusPending, Settle: stripe.RefundStatusFailed,
		After: 5 * 24 * time.Hour, FailureReason: stripe.RefundFailureReasonLostOrStolenCard}); err != nil {
		t.Fatal(err)
	}
	r, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 600, ""))
	if err != nil {
		t.Fatal(err)
	}
	fake.Advance(4 * 24 * time.Hour)
	if got, _ := sc.Refunds.Get(r.ID, nil); got.Status != stripe.RefundStatusPending {
		t.Fatalf("after 4 days the refund is %s", got.Status)
	}
	fake.Advance(24 * time.Hour)
	got, _ := sc.Refunds.Get(r.ID, nil)
	if got.Status != stripe.RefundStatusFailed || got.FailureReason != stripe.RefundFailureReasonLostOrStolenCard {
		t.Fatalf("after 5 days the refund is %s (%s)", got.Status, got.FailureReason)
	}
	if types := eventTypesOf(fake.Events()); !slices.Equal(types, []string{EventRefundCreated, EventRefundUpdated, EventChargeRefundUpdated, EventRefundFailed}) {
		t.Fatalf("recorded events %v", types)
	}
}

func eventTypesOf(evs []Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

func TestWebhookDeliveryIsRetriedUntilTheEndpointAcknowledges(t *testing.T) {
	rc := newReceiver(t, testSecret)
	rc.failFirst = 2
	fake, sc, _ := startFake(t, webhookOptions(rc), clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "")); err != nil {
		t.Fatal(err)
	}
	rc.wait(1)
	// The receiver has the event a moment before the fake has its answer.
	waitFor(t, func() bool { return fake.Events()[0].Delivered == 1 })
	if ev := fake.Events()[0]; ev.Attempts != 3 {
		t.Fatalf("event delivered after %d attempts, want 3", ev.Attempts)
	}
	if st := fake.Snapshot().Webhooks; st.Failed != 2 || st.Delivered != 1 || st.Pending != 0 {
		t.Fatalf("webhook stats %+v", st)
	}
}

func TestDuplicateModeDeliversEveryEventTwice(t *testing.T) {
	rc := newReceiver(t, testSecret)
	fake, sc, _ := startFake(t, webhookOptions(rc), clientOptions{})
	fake.SetWebhookMode(WebhookMode{Duplicate: true})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	for range 3 {
		if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "")); err != nil {
			t.Fatal(err)
		}
	}
	evs := rc.wait(6)
	seen := map[string]int{}
	for _, ev := range evs {
		seen[ev.ID]++
	}
	if len(seen) != 3 {
		t.Fatalf("6 deliveries of %d distinct events, want 3", len(seen))
	}
	for id, n := range seen {
		if n != 2 {
			t.Fatalf("event %s delivered %d times", id, n)
		}
	}
}

func TestOutOfOrderModeHoldsEventsAndReleasesThemShuffled(t *testing.T) {
	rc := newReceiver(t, testSecret)
	fake, sc, _ := startFake(t, webhookOptions(rc), clientOptions{})
	fake.SetWebhookMode(WebhookMode{OutOfOrder: true})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	for range 5 {
		if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := rc.count(); n != 0 {
		t.Fatalf("%d events arrived while held", n)
	}
	if held := fake.Snapshot().Webhooks.Held; held != 5 {
		t.Fatalf("%d deliveries held, want 5", held)
	}
	fake.FlushWebhooks()
	evs := rc.wait(5)
	emitted := make([]string, 0, 5)
	for _, ev := range fake.Events() {
		emitted = append(emitted, ev.ID)
	}
	got := eventIDs(evs)
	if slices.Equal(got, emitted) {
		t.Fatalf("held events came out in emission order %v", got)
	}
	slices.Sort(got)
	slices.Sort(emitted)
	if !slices.Equal(got, emitted) {
		t.Fatalf("delivered %v, emitted %v", got, emitted)
	}
}

func TestOutOfOrderModeReleasesOnItsOwnAfterHoldFor(t *testing.T) {
	rc := newReceiver(t, testSecret)
	fake, sc, _ := startFake(t, webhookOptions(rc), clientOptions{})
	fake.SetWebhookMode(WebhookMode{OutOfOrder: true, HoldFor: 200 * time.Millisecond})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	for range 3 {
		if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "")); err != nil {
			t.Fatal(err)
		}
	}
	rc.wait(3)
}

func TestPastEventsCanBeResent(t *testing.T) {
	rc := newReceiver(t, testSecret)
	fake, sc, _ := startFake(t, webhookOptions(rc), clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "")); err != nil {
		t.Fatal(err)
	}
	first := rc.wait(1)[0]
	if err := fake.ResendEvent(first.ID); err != nil {
		t.Fatal(err)
	}
	evs := rc.wait(2)
	if evs[1].ID != first.ID || string(evs[1].Data.Raw) != string(first.Data.Raw) {
		t.Fatalf("resent %s, want the same event %s with the same payload", evs[1].ID, first.ID)
	}
	if err := fake.ResendEvent("evt_missing"); err == nil {
		t.Fatal("resending an unknown event succeeded")
	}
}

func TestSignatureDoesNotVerifyWithAnotherSecret(t *testing.T) {
	rc := newReceiver(t, "whsec_someone_else")
	fake, sc, _ := startFake(t, Options{WebhookURL: rc.srv.URL, WebhookSecret: testSecret, WebhookRetryBase: time.Hour}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rc.mu.Lock()
		rejected := append([]error(nil), rc.rejected...)
		rc.mu.Unlock()
		if len(rejected) > 0 {
			if !errors.Is(rejected[0], webhook.ErrNoValidSignature) {
				t.Fatalf("rejected with %v, want ErrNoValidSignature", rejected[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery never arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEventsAreRecordedWithoutAnEndpoint(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, "")); err != nil {
		t.Fatal(err)
	}
	evs := fake.Events()
	if len(evs) != 1 || evs[0].Type != EventRefundCreated || evs[0].Attempts != 0 {
		t.Fatalf("events %+v", evs)
	}
	var ev stripe.Event
	if err := json.Unmarshal(evs[0].Payload, &ev); err != nil || ev.PendingWebhooks != 0 {
		t.Fatalf("payload: %v, pending_webhooks %d", err, ev.PendingWebhooks)
	}
}
