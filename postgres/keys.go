package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// CreateAPIKey stores a new key for role and returns it with its secret,
// which is shown once and not stored.
func (db *DB) CreateAPIKey(ctx context.Context, name string, role refundflow.Role, limits map[money.Currency]int64) (*refundflow.APIKey, string, error) {
	if !role.Valid() {
		return nil, "", refundflow.FieldError("role", "invalid_role", "must be one of platform, agent, approver, admin")
	}
	if name == "" {
		return nil, "", refundflow.FieldError("name", "missing_name", "a key needs a name")
	}
	var limitsJSON json.RawMessage
	if len(limits) > 0 {
		b, err := json.Marshal(limits)
		if err != nil {
			return nil, "", err
		}
		limitsJSON = b
	}
	secret, hash := refundflow.NewSecret()
	row, err := db.q.InsertAPIKey(ctx, sqlgen.InsertAPIKeyParams{
		ID: newKeyID(), Name: name, Role: string(role), KeyHash: hash, ApprovalLimits: limitsJSON,
	})
	if err != nil {
		return nil, "", fmt.Errorf("create api key: %w", err)
	}
	k, err := keyFromRow(row)
	return k, secret, err
}

// Authenticate returns the active key whose secret this is, or an
// EUNAUTHORIZED error. Revoked keys are refused.
func (db *DB) Authenticate(ctx context.Context, secret string) (*refundflow.APIKey, error) {
	row, err := db.q.GetActiveAPIKeyByHash(ctx, refundflow.HashSecret(secret))
	if err != nil {
		if isNoRows(err) {
			return nil, refundflow.Errorf(refundflow.EUNAUTHORIZED, "invalid_api_key", "the API key is unknown or revoked")
		}
		return nil, err
	}
	// last_used_at is kept to the minute: a key used within the last
	// minute costs this one read, not a write too (every API request
	// authenticates).
	if row.LastUsedAt == nil || time.Since(*row.LastUsedAt) >= time.Minute {
		if err := db.q.TouchAPIKey(ctx, row.ID); err != nil {
			return nil, err
		}
	}
	return keyFromRow(row)
}

// ListAPIKeys returns every key, revoked ones included, without secrets.
func (db *DB) ListAPIKeys(ctx context.Context) ([]*refundflow.APIKey, error) {
	rows, err := db.q.ListAPIKeys(ctx)
	if err != nil {
		return nil, err
	}
	return fromRows(rows, keyFromRow)
}

// RevokeAPIKey disables a key for good.
func (db *DB) RevokeAPIKey(ctx context.Context, id string) error {
	n, err := db.q.RevokeAPIKey(ctx, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return refundflow.Errorf(refundflow.ENOTFOUND, "not_found", "no active key %q", id)
	}
	return nil
}

func keyFromRow(r sqlgen.ApiKey) (*refundflow.APIKey, error) {
	k := &refundflow.APIKey{
		ID: r.ID, Name: r.Name, Role: refundflow.Role(r.Role),
		CreatedAt: r.CreatedAt.UTC(), RevokedAt: utcPtr(r.RevokedAt), LastUsedAt: utcPtr(r.LastUsedAt),
	}
	if len(r.ApprovalLimits) > 0 {
		if err := json.Unmarshal(r.ApprovalLimits, &k.ApprovalLimits); err != nil {
			return nil, fmt.Errorf("api key %s limits: %w", r.ID, err)
		}
	}
	return k, nil
}

func newKeyID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "key_" + hex.EncodeToString(b)
}

// APIKey returns a key as it stands now, revoked or not, or ENOTFOUND.
func (db *DB) APIKey(ctx context.Context, id string) (*refundflow.APIKey, error) {
	row, err := db.q.GetAPIKey(ctx, id)
	if err != nil {
		return nil, notFound(err, "no API key %q", id)
	}
	return keyFromRow(row)
}
