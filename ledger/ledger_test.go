package ledger_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/refundflow/refundflow/ledger"
)

func dr(a ledger.Account, party string, amount int64) ledger.Posting {
	return ledger.Posting{Account: a, Party: party, Debit: amount}
}

func cr(a ledger.Account, party string, amount int64) ledger.Posting {
	return ledger.Posting{Account: a, Party: party, Credit: amount}
}

func TestPostingRulesForEachMoneyEvent(t *testing.T) {
	connect := ledger.Refund{Currency: "CNY", Amount: 3333, Creator: "acct_creator", TransferReversal: 2833, ApplicationFeeReturned: 500, UnrecoveredFee: 100}
	tests := []struct {
		name string
		rule func(ledger.Refund) (ledger.Transaction, error)
		in   ledger.Refund
		kind ledger.Kind
		want []ledger.Posting
	}{
		{
			name: "a plain refund: contra-revenue against the Stripe balance, the fee share unrecovered",
			rule: ledger.RefundSucceeded,
			in:   ledger.Refund{Currency: "CNY", Amount: 19900, UnrecoveredFee: 597},
			kind: ledger.KindRefundSucceeded,
			want: []ledger.Posting{
				dr(ledger.Refunds, "", 19900), cr(ledger.StripeBalance, "", 19900),
				dr(ledger.StripeFeesUnrecovered, "", 597), cr(ledger.StripeFees, "", 597),
			},
		},
		{
			name: "a Connect refund claws the creator's share back and returns the platform fee",
			rule: ledger.RefundSucceeded,
			in:   connect,
			kind: ledger.KindRefundSucceeded,
			want: []ledger.Posting{
				dr(ledger.Refunds, "", 3333), cr(ledger.StripeBalance, "", 3333),
				dr(ledger.StripeBalance, "", 2833), cr(ledger.CreatorPayable, "acct_creator", 2833),
				dr(ledger.ApplicationFees, "", 500), cr(ledger.StripeBalance, "", 500),
				dr(ledger.StripeFeesUnrecovered, "", 100), cr(ledger.StripeFees, "", 100),
			},
		},
		{
			name: "a refund made in the dashboard is booked like ours",
			rule: ledger.ManualRefund,
			in:   ledger.Refund{Currency: "USD", Amount: 500},
			kind: ledger.KindManualRefund,
			want: []ledger.Posting{dr(ledger.Refunds, "", 500), cr(ledger.StripeBalance, "", 500)},
		},
		{
			name: "a refund failed after booking comes back to the balance; Connect amounts stay",
			rule: ledger.RefundReversed,
			in:   connect,
			kind: ledger.KindRefundReversed,
			want: []ledger.Posting{
				dr(ledger.StripeBalance, "", 3333), cr(ledger.Refunds, "", 3333),
				dr(ledger.StripeFees, "", 100), cr(ledger.StripeFeesUnrecovered, "", 100),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := tt.rule(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if tx.Kind != tt.kind || tx.Currency != tt.in.Currency || !slices.Equal(tx.Postings, tt.want) {
				t.Fatalf("got %s %s %+v\nwant %s %+v", tx.Kind, tx.Currency, tx.Postings, tt.kind, tt.want)
			}
			if err := tx.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFailedRefundRecordsOnlyWhatConnectMoved(t *testing.T) {
	tx, ok, err := ledger.RefundFailed(ledger.Refund{Currency: "CNY", Amount: 10000, Creator: "acct_c", TransferReversal: 8500, ApplicationFeeReturned: 1500})
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	want := []ledger.Posting{
		dr(ledger.StripeBalance, "", 8500), cr(ledger.CreatorPayable, "acct_c", 8500),
		dr(ledger.ApplicationFees, "", 1500), cr(ledger.StripeBalance, "", 1500),
	}
	if tx.Kind != ledger.KindRefundFailed || !slices.Equal(tx.Postings, want) {
		t.Fatalf("got %+v", tx)
	}
	if _, ok, err := ledger.RefundFailed(ledger.Refund{Currency: "CNY", Amount: 10000}); ok || err != nil {
		t.Fatalf("a failed refund without Connect wrote something: ok=%v err=%v", ok, err)
	}
}

func TestRulesRefuseWhatCannotBeBooked(t *testing.T) {
	tests := []struct {
		name string
		in   ledger.Refund
	}{
		{"no amount", ledger.Refund{Currency: "CNY"}},
		{"negative amount", ledger.Refund{Currency: "CNY", Amount: -1}},
		{"unknown currency", ledger.Refund{Currency: "XXX", Amount: 1}},
		{"negative fee share", ledger.Refund{Currency: "CNY", Amount: 1, UnrecoveredFee: -1}},
		{"clawback without a creator", ledger.Refund{Currency: "CNY", Amount: 1, TransferReversal: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ledger.RefundSucceeded(tt.in); err == nil {
				t.Fatalf("booked %+v", tt.in)
			}
		})
	}
}

func TestCheckRefusesUnbalancedAndMalformedTransactions(t *testing.T) {
	tests := []struct {
		name     string
		postings []ledger.Posting
		unbal    bool
	}{
		{"debits above credits", []ledger.Posting{dr(ledger.Refunds, "", 100), cr(ledger.StripeBalance, "", 99)}, true},
		{"one posting", []ledger.Posting{dr(ledger.Refunds, "", 100)}, false},
		{"both sides on one posting", []ledger.Posting{{Account: ledger.Refunds, Debit: 1, Credit: 1}, cr(ledger.StripeBalance, "", 0)}, false},
		{"a zero posting", []ledger.Posting{dr(ledger.Refunds, "", 100), cr(ledger.StripeBalance, "", 100), dr(ledger.StripeFees, "", 0)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ledger.Transaction{Kind: ledger.KindRefundSucceeded, Currency: "CNY", Postings: tt.postings}.Check()
			if err == nil || errors.Is(err, ledger.ErrUnbalanced) != tt.unbal {
				t.Fatalf("Check = %v", err)
			}
		})
	}
}

func TestBookedReadsBackWhatAReversalUndoes(t *testing.T) {
	tx, err := ledger.RefundSucceeded(ledger.Refund{Currency: "CNY", Amount: 3333, Creator: "acct_c", TransferReversal: 2833, ApplicationFeeReturned: 500, UnrecoveredFee: 100})
	if err != nil {
		t.Fatal(err)
	}
	amount, fee := ledger.Booked(tx.Postings)
	if amount != 3333 || fee != 100 {
		t.Fatalf("Booked = %d, %d", amount, fee)
	}
	rev, err := ledger.RefundReversed(ledger.Refund{Currency: "CNY", Amount: amount, UnrecoveredFee: fee})
	if err != nil {
		t.Fatal(err)
	}
	if amount, fee := ledger.Booked(append(tx.Postings, rev.Postings...)); amount != 0 || fee != 0 {
		t.Fatalf("after the reversal: %d, %d", amount, fee)
	}
}

func TestUnrecoveredFeeSharesAddUpToTheWholeFee(t *testing.T) {
	tests := []struct {
		fee, paid, before, amount, want int64
	}{
		{597, 19900, 0, 19900, 597},   // the whole payment
		{597, 19900, 0, 9950, 299},    // 298.5 rounds up
		{597, 19900, 9950, 9950, 298}, // the rest: 597 − 299
		{300, 10000, 0, 3333, 100},    // 99.99
		{300, 10000, 3333, 3333, 100}, // cumulative 199.98 → 200
		{300, 10000, 6666, 3334, 100}, // exactly the rest
		{0, 10000, 0, 10000, 0},
		{300, 10000, 0, 0, 0},
		{300, 10000, 9000, 5000, 30}, // capped at what was paid
		{9_000_000_000, 9_000_000_000_000, 0, 9_000_000_000_000, 9_000_000_000}, // no overflow
	}
	for _, tt := range tests {
		if got := ledger.UnrecoveredFee(tt.fee, tt.paid, tt.before, tt.amount); got != tt.want {
			t.Errorf("UnrecoveredFee(%d, %d, %d, %d) = %d, want %d", tt.fee, tt.paid, tt.before, tt.amount, got, tt.want)
		}
	}
}
