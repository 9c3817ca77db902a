package refundflow

import (
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
