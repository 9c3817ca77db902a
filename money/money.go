// Package money is integer minor units with a currency: never floats.
//
// The currency table is ISO 4217 (active codes) with each currency's number
// of minor-unit digits, so that amounts can be validated and formatted.
package money

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxAmount is the largest amount, in minor units, that refundflow takes
// for an order or a refund: eight digits, the most one Stripe charge can be
// in most currencies (CNY 999 999.99, USD 999 999.99, JPY 99 999 999). It keeps
// every sum of amounts far inside int64 and PostgreSQL's bigint. The few
// currencies where Stripe allows more (IDR, say) are capped here as well:
// no course costs that much.
const MaxAmount = 99_999_999

// Currency is an upper-case ISO 4217 code such as "CNY" or "USD".
type Currency string

// Exponent returns the number of minor-unit digits (2 for USD, 0 for JPY)
// and whether the currency is known.
func (c Currency) Exponent() (int, bool) {
	e, ok := exponents[c]
	return e, ok
}

// Valid reports whether c is an active ISO 4217 code.
func (c Currency) Valid() bool {
	_, ok := exponents[c]
	return ok
}

// ParseCurrency accepts a code in any case and returns the canonical form.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(strings.ToUpper(strings.TrimSpace(s)))
	if !c.Valid() {
		return "", fmt.Errorf("unknown currency %q", s)
	}
	return c, nil
}

// Format renders minor units as a decimal amount with the currency code,
// e.g. Format(12345, "CNY") = "123.45 CNY". It is on the policy's hot path
// (every explanation names amounts), so it appends rather than formats.
func Format(amount int64, c Currency) string {
	var buf [64]byte
	b := buf[:0]
	exp, ok := c.Exponent()
	if !ok || exp == 0 {
		b = strconv.AppendInt(b, amount, 10)
	} else {
		// The magnitude as unsigned, so that the most negative amount
		// renders too.
		u := uint64(amount)
		if amount < 0 {
			b, u = append(b, '-'), -u
		}
		div := uint64(1)
		for range exp {
			div *= 10
		}
		b = strconv.AppendUint(b, u/div, 10)
		b = append(b, '.')
		var fracBuf [20]byte
		frac := strconv.AppendUint(fracBuf[:0], u%div, 10)
		for range exp - len(frac) {
			b = append(b, '0')
		}
		b = append(b, frac...)
	}
	b = append(b, ' ')
	b = append(b, c...)
	return string(b)
}

// MulFrac returns amount × num / den rounded down, without overflow for any
// amount and fraction this product handles (den ≤ 2^31). It panics if den ≤ 0.
func MulFrac(amount, num, den int64) int64 {
	if den <= 0 {
		panic("money: non-positive denominator")
	}
	q, r := amount/den, amount%den
	return q*num + (r*num)/den
}

// exponents lists the active ISO 4217 currencies and their minor-unit digits.
var exponents = map[Currency]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2,
	"BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2,
	"COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
	"ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2,
	"GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
	"IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0,
	"KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
	"MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2,
	"NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2,
	"SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2,
	"TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0,
	"USD": 2, "UYU": 2, "UZS": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XOF": 0,
	"XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}
