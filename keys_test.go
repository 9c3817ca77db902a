package refundflow

import (
	"testing"

	"github.com/refundflow/refundflow/money"
)

func TestApprovalLimitOfACurrency(t *testing.T) {
	limits := map[money.Currency]int64{"CNY": 500000, "USD": 80000}
	for _, c := range []struct {
		name     string
		limits   map[money.Currency]int64
		currency money.Currency
		want     int64
		limited  bool
	}{
		{"a named currency", limits, "CNY", 500000, true},
		{"a currency the limits do not name is 0", limits, "EUR", 0, true},
		{"any currency covers the others", map[money.Currency]int64{"CNY": 500000, AnyCurrency: 1000}, "EUR", 1000, true},
		{"a named currency before any currency", map[money.Currency]int64{"CNY": 500000, AnyCurrency: 1000}, "CNY", 500000, true},
		{"no limits at all is no limit of its own", nil, "EUR", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := &APIKey{ApprovalLimits: c.limits}
			if got, limited := k.ApprovalLimit(c.currency); got != c.want || limited != c.limited {
				t.Fatalf("ApprovalLimit(%s) = %d, %v; want %d, %v", c.currency, got, limited, c.want, c.limited)
			}
		})
	}
}
