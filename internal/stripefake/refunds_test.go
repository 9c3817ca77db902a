package stripefake

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

func TestRefundIsCreatedRetrievedAndListedThroughStripeGo(t *testing.T) {
	fake, sc, _ := startFake(t, Options{Seed: 1}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{ID: "pi_order_123", Amount: 10000, Currency: "CNY"})

	params := refundParams(pay.PaymentIntent, 2500, "refund/r1/attempt/1")
	params.Reason = stripe.String("requested_by_customer")
	params.AddMetadata("refund_id", "r1")
	created, err := sc.Refunds.New(params)
	if err != nil {
		t.Fatalf("create refund: %v", err)
	}
	if created.Status != stripe.RefundStatusSucceeded || created.Amount != 2500 || created.Currency != "cny" ||
		created.PaymentIntent.ID != "pi_order_123" || created.Charge.ID != "ch_order_123" ||
		created.Metadata["refund_id"] != "r1" || created.Reason != stripe.RefundReasonRequestedByCustomer ||
		created.BalanceTransaction == nil || created.Object != "refund" || created.Created == 0 {
		t.Fatalf("created refund = %+v", created)
	}

	got, err := sc.Refunds.Get(created.ID, nil)
	if err != nil {
		t.Fatalf("get refund: %v", err)
	}
	if got.ID != created.ID || got.Amount != 2500 || got.Metadata["refund_id"] != "r1" {
		t.Fatalf("got refund = %+v", got)
	}

	ch, err := sc.Charges.Get(pay.Charge, nil)
	if err != nil {
		t.Fatalf("get charge: %v", err)
	}
	if ch.AmountRefunded != 2500 || ch.Refunded {
		t.Fatalf("charge after a partial refund: amount_refunded=%d refunded=%v", ch.AmountRefunded, ch.Refunded)
	}
}

func TestListPaginatesNewestFirstWithStripeGosIterator(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 100000})
	other := mustPay(t, fake, PaymentSpec{Amount: 100000})

	var ids []string
	for i := range 25 {
		r, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, ""))
		if err != nil {
			t.Fatalf("refund %d: %v", i, err)
		}
		ids = append(ids, r.ID)
		if _, err := sc.Refunds.New(refundParams(other.PaymentIntent, 100, "")); err != nil {
			t.Fatalf("other refund %d: %v", i, err)
		}
	}
	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)

	before := fake.Snapshot().Counters.Requests[EndpointListRefunds][http.StatusOK]
	list := &stripe.RefundListParams{PaymentIntent: stripe.String(pay.PaymentIntent)}
	list.Limit = stripe.Int64(10)
	iter := sc.Refunds.List(list)
	var listed []string
	for iter.Next() {
		listed = append(listed, iter.Refund().ID)
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("list: %v", err)
	}
	if !slices.Equal(listed, newestFirst) {
		t.Fatalf("listed %v\nwant    %v", listed, newestFirst)
	}
	if pages := fake.Snapshot().Counters.Requests[EndpointListRefunds][http.StatusOK] - before; pages != 3 {
		t.Fatalf("25 refunds at 10 per page took %d pages, want 3", pages)
	}

	// Backwards from the oldest: ending_before walks towards the newest, and
	// stripe-go's iterator yields them nearest first.
	back := &stripe.RefundListParams{PaymentIntent: stripe.String(pay.PaymentIntent)}
	back.Limit = stripe.Int64(7)
	back.EndingBefore = stripe.String(ids[0])
	iter = sc.Refunds.List(back)
	var backwards []string
	for iter.Next() {
		backwards = append(backwards, iter.Refund().ID)
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("list backwards: %v", err)
	}
	if !slices.Equal(backwards, ids[1:]) {
		t.Fatalf("backwards %v\nwant      %v", backwards, ids[1:])
	}
}

func TestListFiltersByChargeAndCreatedRange(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	early, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, ""))
	if err != nil {
		t.Fatal(err)
	}
	fake.Advance(48 * time.Hour)
	late, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, ""))
	if err != nil {
		t.Fatal(err)
	}

	list := &stripe.RefundListParams{Charge: stripe.String(pay.Charge)}
	list.CreatedRange = &stripe.RangeQueryParams{GreaterThanOrEqual: early.Created + 3600}
	list.AddExpand("data.charge")
	var got []string
	for iter := sc.Refunds.List(list); iter.Next(); {
		got = append(got, iter.Refund().ID)
		if ch := iter.Refund().Charge; ch.Amount != 1000 || ch.AmountRefunded != 200 {
			t.Fatalf("expanded charge = %+v", ch)
		}
	}
	if !slices.Equal(got, []string{late.ID}) {
		t.Fatalf("created[gte] a day later listed %v, want only %s", got, late.ID)
	}
}

func TestConcurrentRefundsNeverExceedThePayment(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	var n atomic.Int64
	results := concurrently(20, func() (*stripe.Refund, error) {
		return sc.Refunds.New(refundParams(pay.PaymentIntent, 100, fmt.Sprintf("k%d", n.Add(1))))
	})
	var ok int
	for _, r := range results {
		if r.err == nil {
			ok++
			continue
		}
		if code := stripeError(t, r.err).Code; code != stripe.ErrorCodeChargeAlreadyRefunded {
			t.Fatalf("refused with %q", code)
		}
	}
	if got := fake.Snapshot().Payments[pay.PaymentIntent].Refunded; ok != 10 || got != 1000 {
		t.Fatalf("%d refunds succeeded, %d refunded; want 10 and 1000", ok, got)
	}
}

func TestSameSeedGivesTheSameIDs(t *testing.T) {
	ids := func() []string {
		fake, sc, _ := startFake(t, Options{Seed: 42}, clientOptions{})
		pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
		var out []string
		for range 3 {
			r, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 100, ""))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pay.PaymentIntent, r.ID)
		}
		return out
	}
	if a, b := ids(), ids(); !slices.Equal(a, b) {
		t.Fatalf("seed 42 gave %v and %v", a, b)
	}
}

func TestRefundWithoutAmountRefundsWhatIsLeft(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 5000})
	if _, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 1200, "")); err != nil {
		t.Fatal(err)
	}
	rest, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 0, ""))
	if err != nil {
		t.Fatal(err)
	}
	if rest.Amount != 3800 {
		t.Fatalf("refund without amount = %d, want the 3800 left", rest.Amount)
	}
	pi, err := sc.PaymentIntents.Get(pay.PaymentIntent, &stripe.PaymentIntentParams{Expand: []*string{stripe.String("latest_charge")}})
	if err != nil {
		t.Fatal(err)
	}
	if pi.LatestCharge.AmountRefunded != 5000 || !pi.LatestCharge.Refunded {
		t.Fatalf("latest_charge after full refund = %+v", pi.LatestCharge)
	}
}

func TestRefusalsSurfaceInStripeGoWithStripesCodes(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	open := mustPay(t, fake, PaymentSpec{Amount: 1000})
	disputed := mustPay(t, fake, PaymentSpec{Amount: 1000, Disputed: true})
	refunded := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if _, err := sc.Refunds.New(refundParams(refunded.PaymentIntent, 0, "")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		params *stripe.RefundParams
		status int
		code   stripe.ErrorCode
		param  string
	}{
		{"no such payment intent", refundParams("pi_missing", 100, ""), 404, stripe.ErrorCodeResourceMissing, "payment_intent"},
		{"no such charge", &stripe.RefundParams{Charge: stripe.String("ch_missing")}, 404, stripe.ErrorCodeResourceMissing, "charge"},
		{"disputed charge", refundParams(disputed.PaymentIntent, 100, ""), 400, stripe.ErrorCodeChargeDisputed, ""},
		{"already refunded", refundParams(refunded.PaymentIntent, 100, ""), 400, stripe.ErrorCodeChargeAlreadyRefunded, ""},
		{"amount too large", refundParams(open.PaymentIntent, 1001, ""), 400, stripe.ErrorCodeAmountTooLarge, "amount"},
		{"amount zero", &stripe.RefundParams{PaymentIntent: stripe.String(open.PaymentIntent), Amount: stripe.Int64(0)}, 400, stripe.ErrorCodeParameterInvalidInteger, "amount"},
		{"amount negative", &stripe.RefundParams{PaymentIntent: stripe.String(open.PaymentIntent), Amount: stripe.Int64(-5)}, 400, stripe.ErrorCodeParameterInvalidInteger, "amount"},
		{"neither payment intent nor charge", &stripe.RefundParams{Amount: stripe.Int64(5)}, 400, stripe.ErrorCodeParameterMissing, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sc.Refunds.New(tt.params)
			se := stripeError(t, err)
			if se.HTTPStatusCode != tt.status || se.Code != tt.code || se.Type != stripe.ErrorTypeInvalidRequest || se.Param != tt.param {
				t.Fatalf("error = status %d code %q type %q param %q (%s), want %d %q invalid_request_error %q",
					se.HTTPStatusCode, se.Code, se.Type, se.Param, se.Msg, tt.status, tt.code, tt.param)
			}
			var typed *stripe.InvalidRequestError
			if !errors.As(err, &typed) {
				t.Fatalf("stripe-go did not type it as InvalidRequestError: %T", se.Err)
			}
		})
	}

	unknown := refundParams(open.PaymentIntent, 100, "")
	unknown.AddExtra("colour", "blue")
	se := stripeError(t, func() error { _, err := sc.Refunds.New(unknown); return err }())
	if se.Code != stripe.ErrorCodeParameterUnknown || se.Param != "colour" {
		t.Fatalf("unknown parameter: code %q param %q", se.Code, se.Param)
	}
	if got := fake.Snapshot().Payments[open.PaymentIntent].Refunded; got != 0 {
		t.Fatalf("refusals moved money: refunded %d", got)
	}
}

func TestRefundMetadataCanBeUpdatedAndUnset(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 1000})
	p := refundParams(pay.PaymentIntent, 100, "")
	p.AddMetadata("refund_id", "r1")
	p.AddMetadata("attempt", "1")
	r, err := sc.Refunds.New(p)
	if err != nil {
		t.Fatal(err)
	}
	up := &stripe.RefundParams{}
	up.AddMetadata("attempt", "")
	up.AddMetadata("ledger", "posted")
	r, err = sc.Refunds.Update(r.ID, up)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"refund_id": "r1", "ledger": "posted"}
	if len(r.Metadata) != len(want) || r.Metadata["refund_id"] != "r1" || r.Metadata["ledger"] != "posted" {
		t.Fatalf("metadata after update = %v, want %v", r.Metadata, want)
	}
	bad := &stripe.RefundParams{Amount: stripe.Int64(5)}
	if se := stripeError(t, func() error { _, err := sc.Refunds.Update(r.ID, bad); return err }()); se.Code != stripe.ErrorCodeParameterUnknown {
		t.Fatalf("updating the amount: code %q, want parameter_unknown", se.Code)
	}
}

func TestRefundCanBeCanceledOnlyWhileItRequiresAction(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	waiting := mustPay(t, fake, PaymentSpec{Amount: 1000})
	if err := fake.SetBehaviour(waiting.PaymentIntent, Behaviour{Status: stripe.RefundStatusRequiresAction}); err != nil {
		t.Fatal(err)
	}
	done := mustPay(t, fake, PaymentSpec{Amount: 1000})

	r, err := sc.Refunds.New(refundParams(waiting.PaymentIntent, 400, ""))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != stripe.RefundStatusRequiresAction || r.NextAction == nil {
		t.Fatalf("refund = status %s next_action %+v", r.Status, r.NextAction)
	}
	canceled, err := sc.Refunds.Cancel(r.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if canceled.Status != stripe.RefundStatusCanceled {
		t.Fatalf("canceled refund status = %s", canceled.Status)
	}
	if got := fake.Snapshot().Payments[waiting.PaymentIntent].Refunded; got != 0 {
		t.Fatalf("a canceled refund still holds %d", got)
	}

	succeeded, err := sc.Refunds.New(refundParams(done.PaymentIntent, 400, ""))
	if err != nil {
		t.Fatal(err)
	}
	se := stripeError(t, func() error { _, err := sc.Refunds.Cancel(succeeded.ID, nil); return err }())
	if se.HTTPStatusCode != 400 {
		t.Fatalf("canceling a succeeded refund: status %d", se.HTTPStatusCode)
	}
	if se := stripeError(t, func() error { _, err := sc.Refunds.Cancel("re_missing", nil); return err }()); se.Code != stripe.ErrorCodeResourceMissing {
		t.Fatalf("canceling a missing refund: code %q", se.Code)
	}
}

func TestPaymentIntentAndChargeShowWhatACallerChecksBeforeRefunding(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{ID: "pi_order_9", Amount: 9900, Currency: "usd", Fee: 317,
		Destination: "acct_creator", ApplicationFeeAmount: 990, Disputed: true})

	pi, err := sc.PaymentIntents.Get("pi_order_9", &stripe.PaymentIntentParams{
		Expand: []*string{stripe.String("latest_charge.balance_transaction")},
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := pi.LatestCharge
	if pi.Amount != 9900 || pi.Currency != "usd" || pi.ApplicationFeeAmount != 990 ||
		pi.TransferData == nil || pi.TransferData.Destination.ID != "acct_creator" ||
		ch.ID != pay.Charge || !ch.Disputed || ch.AmountRefunded != 0 || ch.BalanceTransaction.Fee != 317 ||
		ch.BalanceTransaction.Net != 9900-317 || ch.Transfer.ID != pay.Transfer || ch.ApplicationFee.ID != pay.ApplicationFee {
		t.Fatalf("payment intent = %+v\nlatest charge = %+v", pi, ch)
	}
	if _, err := sc.PaymentIntents.Get("pi_missing", nil); stripeError(t, err).HTTPStatusCode != 404 {
		t.Fatalf("missing payment intent: %v", err)
	}
}

func TestRequestsWithoutAnAPIKeyAreUnauthorized(t *testing.T) {
	_, _, srv := startFake(t, Options{}, clientOptions{})
	resp, err := http.Get(srv.URL + "/v1/refunds")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
}
