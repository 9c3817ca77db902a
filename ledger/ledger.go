// Package ledger holds refundflow's double-entry posting rules (SPEC 4.7):
// what each money event writes to which account, in one currency, always
// balanced. It is plain Go; the postgres adapter stores the transactions
// it returns (append-only, with PostgreSQL checking the balance again).
//
// Accounts, from the platform's point of view:
//
//   - refunds: contra-revenue; a debit is money given back to a learner.
//   - stripe_balance: the platform's Stripe balance (an asset).
//   - creator_payable: the creators' share, per connected account (party);
//     a credit is a share pulled back from a creator (clawback).
//   - application_fees: the platform's Connect fee revenue; a debit is fee
//     given back to the creator.
//   - stripe_fees / stripe_fees_unrecovered: Stripe keeps its processing fee
//     when a payment is refunded; the refunded share of that fee moves from
//     the cost of the sale to the cost of refunds.
package ledger

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/refundflow/refundflow/money"
)

// Account is a ledger account.
type Account string

// The accounts.
const (
	Refunds               Account = "refunds"
	StripeBalance         Account = "stripe_balance"
	CreatorPayable        Account = "creator_payable"
	ApplicationFees       Account = "application_fees"
	StripeFees            Account = "stripe_fees"
	StripeFeesUnrecovered Account = "stripe_fees_unrecovered"
)

// Kind is the money event a transaction records.
type Kind string

// The money events.
const (
	// KindRefundSucceeded: a case's Stripe refund succeeded.
	KindRefundSucceeded Kind = "refund_succeeded"
	// KindRefundFailed: a case's refund failed before it was booked; only
	// what Connect moved anyway is recorded.
	KindRefundFailed Kind = "refund_failed"
	// KindRefundReversed: a refund Stripe failed after it was booked.
	KindRefundReversed Kind = "refund_reversed"
	// KindManualRefund: a refund made by hand in the Stripe dashboard,
	// adopted by reconciliation.
	KindManualRefund Kind = "manual_refund"
)

// Posting is one side of one account. Exactly one of Debit and Credit is
// positive.
type Posting struct {
	Account Account `json:"account"`
	Party   string  `json:"party,omitempty"`
	Debit   int64   `json:"debit"`
	Credit  int64   `json:"credit"`
}

// Transaction is one money event's postings, in one currency.
type Transaction struct {
	Kind     Kind
	Currency money.Currency
	Postings []Posting
}

// ErrUnbalanced is returned for a transaction whose debits and credits
// differ.
var ErrUnbalanced = errors.New("ledger: transaction does not balance")

// Check verifies that t can be written: a known currency, at least two
// postings, each one-sided and positive, and debits equal to credits.
func (t Transaction) Check() error {
	if !t.Currency.Valid() {
		return fmt.Errorf("ledger: unknown currency %q", t.Currency)
	}
	if len(t.Postings) < 2 {
		return fmt.Errorf("ledger: %s has %d postings; a transaction needs at least two", t.Kind, len(t.Postings))
	}
	var dr, cr int64
	for i, p := range t.Postings {
		if p.Debit < 0 || p.Credit < 0 || (p.Debit > 0) == (p.Credit > 0) {
			return fmt.Errorf("ledger: %s posting %d on %s must be either a positive debit or a positive credit", t.Kind, i+1, p.Account)
		}
		dr += p.Debit
		cr += p.Credit
	}
	if dr != cr {
		return fmt.Errorf("%w: %s debits %d, credits %d", ErrUnbalanced, t.Kind, dr, cr)
	}
	return nil
}

// Refund is what one Stripe refund moved, as the posting rules need it.
type Refund struct {
	Currency money.Currency
	// Amount went back to the learner.
	Amount int64
	// Creator is the connected account paid for the sale, if any.
	Creator string
	// TransferReversal is the creator's share pulled back (reverse_transfer).
	TransferReversal int64
	// ApplicationFeeReturned is the platform fee given back to the creator
	// (refund_application_fee).
	ApplicationFeeReturned int64
	// UnrecoveredFee is the refunded share of Stripe's processing fee,
	// which Stripe does not return.
	UnrecoveredFee int64
}

func (r Refund) check(needAmount bool) error {
	switch {
	case needAmount && r.Amount <= 0:
		return fmt.Errorf("ledger: refund amount %d must be positive", r.Amount)
	case r.Amount < 0 || r.TransferReversal < 0 || r.ApplicationFeeReturned < 0 || r.UnrecoveredFee < 0:
		return fmt.Errorf("ledger: negative amount in %+v", r)
	case r.TransferReversal > 0 && r.Creator == "":
		return errors.New("ledger: a transfer reversal needs the creator's account")
	}
	return nil
}

// RefundSucceeded books a succeeded refund of a case: Dr refunds / Cr
// stripe_balance for the amount, plus its Connect and fee effects.
func RefundSucceeded(r Refund) (Transaction, error) {
	return booked(KindRefundSucceeded, r)
}

// ManualRefund books a refund made in the Stripe dashboard exactly like
// one of ours.
func ManualRefund(r Refund) (Transaction, error) {
	return booked(KindManualRefund, r)
}

func booked(kind Kind, r Refund) (Transaction, error) {
	if err := r.check(true); err != nil {
		return Transaction{}, err
	}
	t := Transaction{Kind: kind, Currency: r.Currency}
	t.add(Refunds, "", StripeBalance, "", r.Amount)
	t.connect(r)
	t.add(StripeFeesUnrecovered, "", StripeFees, "", r.UnrecoveredFee)
	return t, t.Check()
}

// RefundFailed records what Connect moved for a refund that failed before
// it was booked (Stripe reverses the transfer and returns the fee when the
// refund is created, whatever becomes of it). It reports false when
// nothing moved.
func RefundFailed(r Refund) (Transaction, bool, error) {
	if err := r.check(false); err != nil {
		return Transaction{}, false, err
	}
	t := Transaction{Kind: KindRefundFailed, Currency: r.Currency}
	t.connect(r)
	if len(t.Postings) == 0 {
		return Transaction{}, false, nil
	}
	return t, true, t.Check()
}

// RefundReversed undoes the booking of a refund that Stripe failed after
// it succeeded: the money is back in the Stripe balance and the fee share
// is a cost of the sale again. Connect amounts stay where they are — the
// creator's share was pulled back and the fee returned — and finance
// decides whether to transfer them again. r carries what was booked.
func RefundReversed(r Refund) (Transaction, error) {
	if err := r.check(true); err != nil {
		return Transaction{}, err
	}
	t := Transaction{Kind: KindRefundReversed, Currency: r.Currency}
	t.add(StripeBalance, "", Refunds, "", r.Amount)
	t.add(StripeFees, "", StripeFeesUnrecovered, "", r.UnrecoveredFee)
	return t, t.Check()
}

// connect adds the creator clawback (Dr stripe_balance / Cr
// creator_payable) and the platform fee given back (Dr application_fees /
// Cr stripe_balance).
func (t *Transaction) connect(r Refund) {
	t.add(StripeBalance, "", CreatorPayable, r.Creator, r.TransferReversal)
	t.add(ApplicationFees, "", StripeBalance, "", r.ApplicationFeeReturned)
}

// add appends Dr debit / Cr credit of amount; nothing when it is zero.
func (t *Transaction) add(debit Account, debitParty string, credit Account, creditParty string, amount int64) {
	if amount == 0 {
		return
	}
	t.Postings = append(t.Postings,
		Posting{Account: debit, Party: debitParty, Debit: amount},
		Posting{Account: credit, Party: creditParty, Credit: amount})
}

// Booked reads back what a booked refund transaction moved: the amount
// refunded and the unrecovered fee share (what RefundReversed undoes).
func Booked(postings []Posting) (amount, unrecoveredFee int64) {
	for _, p := range postings {
		switch p.Account {
		case Refunds:
			amount += p.Debit - p.Credit
		case StripeFeesUnrecovered:
			unrecoveredFee += p.Debit - p.Credit
		}
	}
	return amount, unrecoveredFee
}

// UnrecoveredFee is the share of a payment's Stripe processing fee that a
// refund of amount stands for, after refundedBefore was refunded already.
// Shares are cumulative and rounded half up, so that the shares of several
// partial refunds add up to exactly fee once the whole payment is refunded.
func UnrecoveredFee(fee, paid, refundedBefore, amount int64) int64 {
	if fee <= 0 || paid <= 0 || amount <= 0 {
		return 0
	}
	after := min(refundedBefore+amount, paid)
	return max(share(fee, after, paid)-share(fee, max(refundedBefore, 0), paid), 0)
}

// share is total × part / whole rounded half up, without overflow.
func share(total, part, whole int64) int64 {
	n := new(big.Int).Mul(big.NewInt(total), big.NewInt(part))
	n.Mul(n, big.NewInt(2))
	n.Add(n, big.NewInt(whole))
	n.Quo(n, new(big.Int).Mul(big.NewInt(whole), big.NewInt(2)))
	return n.Int64()
}
