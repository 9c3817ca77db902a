-- name: InsertPaymentAttempt :one
-- Written before Stripe is called: the idempotency key is durable first.
INSERT INTO payment_attempts (refund_id, attempt, idempotency_key, payment_intent, amount, currency, status)
VALUES (@refund_id, @attempt, @idempotency_key, @payment_intent, @amount, @currency, 'reserved')
ON CONFLICT (refund_id, attempt) DO NOTHING
RETURNING *;

-- name: GetPaymentAttempt :one
SELECT * FROM payment_attempts WHERE refund_id = @refund_id AND attempt = @attempt;

-- name: UpdatePaymentAttempt :one
UPDATE payment_attempts SET status = @status, provider_refund_id = COALESCE(sqlc.narg(provider_refund_id), provider_refund_id),
    failure_reason = @failure_reason, updated_at = now()
WHERE refund_id = @refund_id AND attempt = @attempt
RETURNING *;

-- name: ReserveOrderAmount :execrows
-- Holds the amount as in flight; the CHECK on orders refuses anything that
-- would take refunded + in flight above what was paid.
UPDATE orders SET in_flight_amount = in_flight_amount + @amount, updated_at = now() WHERE id = @id;

-- name: SettleOrderAmount :execrows
-- Moves a held amount to refunded (@refunded = amount) or releases it (@refunded = 0).
UPDATE orders SET in_flight_amount = in_flight_amount - @amount,
    refunded_amount = refunded_amount + @refunded, updated_at = now()
WHERE id = @id;
