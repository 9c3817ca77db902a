package money

import (
	"math"
	"testing"
)

func TestParseCurrencyNormalisesCaseAndRejectsUnknownCodes(t *testing.T) {
	c, err := ParseCurrency(" cny ")
	if err != nil || c != "CNY" {
		t.Fatalf("ParseCurrency(cny) = %q, %v", c, err)
	}
	for _, bad := range []string{"", "XXX", "RMB", "US"} {
		if _, err := ParseCurrency(bad); err == nil {
			t.Errorf("ParseCurrency(%q) accepted an unknown code", bad)
		}
	}
}

func TestFormatUsesTheCurrencyMinorUnits(t *testing.T) {
	cases := []struct {
		amount int64
		cur    Currency
		want   string
	}{
		{12345, "CNY", "123.45 CNY"},
		{5, "USD", "0.05 USD"},
		{-250, "EUR", "-2.50 EUR"},
		{1500, "JPY", "1500 JPY"},
		{1234, "KWD", "1.234 KWD"},
		{0, "CNY", "0.00 CNY"},
		{-5, "USD", "-0.05 USD"},
		{math.MinInt64, "CNY", "-92233720368547758.08 CNY"},
		{math.MaxInt64, "JPY", "9223372036854775807 JPY"},
	}
	for _, c := range cases {
		if got := Format(c.amount, c.cur); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.amount, c.cur, got, c.want)
		}
	}
}

func TestMulFracRoundsDownAndDoesNotOverflow(t *testing.T) {
	cases := []struct{ amount, num, den, want int64 }{
		{1000, 1, 3, 333},
		{1000, 2, 3, 666},
		{99999, 7, 10, 69999},
		{1, 1, 2, 0},
		{math.MaxInt64 / 2, 3, 4, (math.MaxInt64/2)/4*3 + ((math.MaxInt64/2)%4*3)/4},
	}
	for _, c := range cases {
		if got := MulFrac(c.amount, c.num, c.den); got != c.want {
			t.Errorf("MulFrac(%d, %d, %d) = %d, want %d", c.amount, c.num, c.den, got, c.want)
		}
	}
}
