package refundflow

import (
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"strconv"
)

// checkID accepts the identifiers platforms use (letters, digits and
// -_.:), 1 to 128 bytes, so they are safe in workflow ids, URLs and logs.
func checkID(pr *Problems, field, id string) {
	if !ValidID(id) {
		pr.Add(field, "invalid_id", "must be 1 to 128 characters of A-Z a-z 0-9 - _ . :")
	}
}

// ValidID reports whether id is a well-formed identifier.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

func validEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

func itoa(i int) string { return strconv.Itoa(i) }

// NewID is a fresh random id with a prefix naming what it is ("rf", "upd").
func NewID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// KnownID answers not found, before anything reaches PostgreSQL, for an
// id no record can have (ids are refundflow.ValidID). The commands check
// it themselves, whoever calls them; the console's pages too.
func KnownID(what, id string) error {
	if ValidID(id) {
		return nil
	}
	return Errorf(ENOTFOUND, "not_found", "%s %q not found", what, id)
}
