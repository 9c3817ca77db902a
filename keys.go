package refundflow

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"

	"github.com/refundflow/refundflow/money"
)

// Role is what an API key may do (SPEC 5).
type Role string

const (
	RolePlatform Role = "platform" // the platform's backend, acting for learners
	RoleAgent    Role = "agent"    // support agents
	RoleApprover Role = "approver" // finance approvers
	RoleAdmin    Role = "admin"    // ops and administrators
)

// Roles lists every role, in a stable order.
var Roles = []Role{RolePlatform, RoleAgent, RoleApprover, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// APIKey is a stored key: the secret itself is never kept, only its hash.
type APIKey struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// ApprovalLimits caps what the key may approve alone, in minor units per
	// currency; "*" applies to any currency. Empty means no limit of its
	// own; a currency it does not name has limit 0.
	ApprovalLimits map[money.Currency]int64 `json:"approval_limits,omitempty"`
	CreatedAt      time.Time                `json:"created_at"`
	RevokedAt      *time.Time               `json:"revoked_at,omitempty"`
	LastUsedAt     *time.Time               `json:"last_used_at,omitempty"`
}

// AnyCurrency is the ApprovalLimits entry that applies to every currency.
const AnyCurrency money.Currency = "*"

// ApprovalLimit returns the most this key may approve alone in currency c,
// and false when it has no limit of its own (no limits at all). A key
// with limits that name neither c nor AnyCurrency may approve nothing in
// c alone: limit 0, a second approver must agree.
func (k *APIKey) ApprovalLimit(c money.Currency) (int64, bool) {
	if len(k.ApprovalLimits) == 0 {
		return 0, false
	}
	if v, ok := k.ApprovalLimits[c]; ok {
		return v, true
	}
	if v, ok := k.ApprovalLimits[AnyCurrency]; ok {
		return v, true
	}
	return 0, true
}

const keyPrefix = "rfk_"

// NewSecret returns a fresh API key secret (160 random bits) and its hash.
func NewSecret() (secret string, hash []byte) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	secret = keyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return secret, HashSecret(secret)
}

// HashSecret is how secrets are stored and looked up. The secrets are long
// and random, so a fast hash is enough: there is nothing to brute-force.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
