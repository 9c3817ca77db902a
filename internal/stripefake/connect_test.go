package stripefake

import (
	"testing"

	"github.com/stripe/stripe-go/v76"
)

func TestProportionalShareRoundsHalfUpAndAddsUpToTheTotal(t *testing.T) {
	tests := []struct {
		total, part, whole, want int64
	}{
		{8500, 3333, 10000, 2833}, // 2833.05
		{1500, 3333, 10000, 500},  // 499.95
		{155, 500, 1000, 78},      // 77.5 rounds up
		{155, 1000, 1000, 155},    // the whole payment: exactly the total
		{1, 1, 3, 0},              // a third of a cent
		{1, 2, 3, 1},              // two thirds
		{0, 500, 1000, 0},         //
		{9_000_000_000_000, 9_000_000_000_000, 9_000_000_000_000, 9_000_000_000_000}, // no int64 overflow in between
	}
	for _, tt := range tests {
		if got := proportional(tt.total, tt.part, tt.whole); got != tt.want {
			t.Errorf("proportional(%d, %d, %d) = %d, want %d", tt.total, tt.part, tt.whole, got, tt.want)
		}
	}
}

func TestReverseTransferAndApplicationFeeRefundAreProportional(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	// 100.00 paid; the platform keeps 15.00, the creator was sent 85.00.
	pay := mustPay(t, fake, PaymentSpec{Amount: 10000, Destination: "acct_creator", ApplicationFeeAmount: 1500})

	connect := func(amount int64) *stripe.RefundParams {
		p := refundParams(pay.PaymentIntent, amount, "")
		p.ReverseTransfer = stripe.Bool(true)
		p.RefundApplicationFee = stripe.Bool(true)
		p.AddExpand("transfer_reversal")
		return p
	}
	first, err := sc.Refunds.New(connect(3333))
	if err != nil {
		t.Fatal(err)
	}
	// 8500 × 3333/10000 = 2833.05 → 2833; 1500 × 3333/10000 = 499.95 → 500.
	if first.TransferReversal == nil || first.TransferReversal.Amount != 2833 ||
		first.TransferReversal.Transfer.ID != pay.Transfer || first.TransferReversal.SourceRefund.ID != first.ID {
		t.Fatalf("first reversal = %+v", first.TransferReversal)
	}
	fee, err := sc.ApplicationFees.Get(pay.ApplicationFee, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fee.AmountRefunded != 500 || len(fee.Refunds.Data) != 1 || fee.Refunds.Data[0].Amount != 500 {
		t.Fatalf("application fee after the first refund = %+v", fee)
	}

	// The rest: shares are cumulative, so the totals come out exact.
	rest, err := sc.Refunds.New(connect(0))
	if err != nil {
		t.Fatal(err)
	}
	if rest.Amount != 6667 || rest.TransferReversal.Amount != 8500-2833 {
		t.Fatalf("second refund %d reversed %d", rest.Amount, rest.TransferReversal.Amount)
	}
	tr, err := sc.Transfers.Get(pay.Transfer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Amount != 8500 || tr.AmountReversed != 8500 || !tr.Reversed || tr.Destination.ID != "acct_creator" {
		t.Fatalf("transfer after a full refund = %+v", tr)
	}
	snap := fake.Snapshot()
	totals := snap.Payments[pay.PaymentIntent]
	if totals.TransferReversed != 8500 || totals.ApplicationFeeRefunded != 1500 || totals.Refunded != 10000 {
		t.Fatalf("totals %+v", totals)
	}
	if len(snap.TransferReversals) != 2 || len(snap.ApplicationFeeRefunds) != 2 || snap.Refunds[0].ApplicationFeeRefund == "" {
		t.Fatalf("recorded reversals %+v and fee refunds %+v", snap.TransferReversals, snap.ApplicationFeeRefunds)
	}
}

func TestRefundWithoutConnectFlagsLeavesTheCreatorsShare(t *testing.T) {
	fake, sc, _ := startFake(t, Options{}, clientOptions{})
	pay := mustPay(t, fake, PaymentSpec{Amount: 10000, Destination: "acct_creator", ApplicationFeeAmount: 1500})
	r, err := sc.Refunds.New(refundParams(pay.PaymentIntent, 5000, ""))
	if err != nil {
		t.Fatal(err)
	}
	if r.TransferReversal != nil {
		t.Fatalf("a refund without reverse_transfer reversed %+v", r.TransferReversal)
	}
	totals := fake.Snapshot().Payments[pay.PaymentIntent]
	if totals.TransferReversed != 0 || totals.ApplicationFeeRefunded != 0 {
		t.Fatalf("totals %+v", totals)
	}
	// Flags on a payment without Connect are ignored.
	plain := mustPay(t, fake, PaymentSpec{Amount: 1000})
	p := refundParams(plain.PaymentIntent, 100, "")
	p.ReverseTransfer = stripe.Bool(true)
	p.RefundApplicationFee = stripe.Bool(true)
	if _, err := sc.Refunds.New(p); err != nil {
		t.Fatalf("connect flags on a plain payment: %v", err)
	}
}
