package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
)

// ledgerDB is a database with one order and one ledger transaction of it.
func ledgerDB(t *testing.T) (*postgres.DB, int64) {
	t.Helper()
	db := pgtest.Open(t)
	seedProduct(t, db)
	ctx := context.Background()
	if _, err := db.UpsertOrder(ctx, &refundflow.Order{
		ID: "o1", LearnerID: "l1", LearnerEmail: "l1@example.com", Locale: refundflow.LocaleEn, ProductID: "p1",
		Amount: 10000, Currency: "CNY", PurchasedAt: time.Now(), PaymentIntent: "pi_o1",
	}, postgres.PinPolicy); err != nil {
		t.Fatal(err)
	}
	var id int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO ledger_transactions (key, kind, currency, order_id, provider_refund_id, provider_created_at)
			VALUES ('k1', 'manual_refund', 'CNY', 'o1', 're_1', now()) RETURNING id`).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, line, account, currency, debit, credit) VALUES
			($1, 1, 'refunds', 'CNY', 500, 0), ($1, 2, 'stripe_balance', 'CNY', 0, 500)`, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, id
}

func TestLedgerIsAppendOnly(t *testing.T) {
	db, id := ledgerDB(t)
	ctx := context.Background()
	for _, stmt := range []string{
		"UPDATE ledger_postings SET debit = 600 WHERE transaction_id = $1 AND line = 1",
		"DELETE FROM ledger_postings WHERE transaction_id = $1",
		"UPDATE ledger_transactions SET memo = 'edited' WHERE id = $1",
		"DELETE FROM ledger_transactions WHERE id = $1",
	} {
		if _, err := db.Pool.Exec(ctx, stmt, id); err == nil {
			t.Errorf("%s: allowed", stmt)
		}
	}
	if _, err := db.Pool.Exec(ctx, "TRUNCATE ledger_postings"); err == nil {
		t.Error("TRUNCATE allowed")
	}
}

func TestPostgresRefusesAnUnbalancedLedgerTransaction(t *testing.T) {
	db, id := ledgerDB(t)
	ctx := context.Background()
	tests := []struct {
		name string
		fn   func(pgx.Tx) error
	}{
		{"debits above credits", func(tx pgx.Tx) error {
			var n int64
			if err := tx.QueryRow(ctx, `INSERT INTO ledger_transactions (key, kind, currency, order_id, provider_refund_id, provider_created_at)
				VALUES ('k2', 'manual_refund', 'CNY', 'o1', 're_2', now()) RETURNING id`).Scan(&n); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, line, account, currency, debit, credit) VALUES
				($1, 1, 'refunds', 'CNY', 500, 0), ($1, 2, 'stripe_balance', 'CNY', 0, 499)`, n)
			return err
		}},
		{"no postings", func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO ledger_transactions (key, kind, currency, order_id, provider_refund_id, provider_created_at)
				VALUES ('k3', 'manual_refund', 'CNY', 'o1', 're_3', now())`)
			return err
		}},
		{"a posting added to a balanced transaction later", func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, line, account, currency, debit, credit) VALUES ($1, 3, 'refunds', 'CNY', 1, 0)`, id)
			return err
		}},
		{"a posting in another currency", func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, line, account, currency, debit, credit) VALUES
				($1, 3, 'refunds', 'USD', 1, 0), ($1, 4, 'stripe_balance', 'USD', 0, 1)`, id)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := pgx.BeginFunc(ctx, db.Pool, tt.fn); err == nil {
				t.Fatal("committed")
			}
		})
	}
	if bad, err := db.UnbalancedLedgerTransactions(ctx); err != nil || len(bad) != 0 {
		t.Fatalf("unbalanced %v: %v", bad, err)
	}
}

func TestStripeEventIsRecordedOnce(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	ev := postgres.StripeEvent{ID: "evt_1", Type: "refund.updated", ObjectID: "re_1", ObjectStatus: "succeeded", Created: time.Now()}
	first, err := db.RecordStripeEvent(ctx, ev)
	if err != nil || first.Processed {
		t.Fatalf("first: %+v %v", first, err)
	}
	if err := db.MarkStripeEventProcessed(ctx, "evt_1", "signalled", ""); err != nil {
		t.Fatal(err)
	}
	again, err := db.RecordStripeEvent(ctx, ev)
	if err != nil || !again.Processed || again.Outcome != "signalled" {
		t.Fatalf("again: %+v %v", again, err)
	}
}
