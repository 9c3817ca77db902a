package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai must resolve in images without a system zoneinfo

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/money"
)

// shanghai is the default zone for times in messages: our learners are
// mostly in China, and a deadline shown in UTC would be off by eight hours.
var shanghai = mustLoadLocation("Asia/Shanghai")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is linked in, so this cannot happen
	}
	return loc
}

// resolveLocale maps what an order says to a language we have templates
// for. Every Chinese tag gets Simplified Chinese (a zh-TW learner reads it
// far better than English); anything else gets English.
func resolveLocale(l refundflow.Locale) refundflow.Locale {
	s := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(string(l)), "_", "-"))
	if s == "zh" || strings.HasPrefix(s, "zh-") {
		return refundflow.LocaleZhCN
	}
	return refundflow.LocaleEn
}

// zhSymbols are the prefixes Chinese readers know; "¥" alone means yuan, so
// the yen gets "JP¥" and the dollars their country letters.
var zhSymbols = map[money.Currency]string{
	"CNY": "¥",
	"USD": "US$",
	"HKD": "HK$",
	"TWD": "NT$",
	"SGD": "S$",
	"AUD": "A$",
	"CAD": "C$",
	"EUR": "€",
	"GBP": "£",
	"JPY": "JP¥",
}

// formatMoney writes an amount the way a reader of locale expects: the
// house format ("199.00 CNY", unambiguous in every context) in English, a
// symbol with thousands separators ("¥1,299.00") in Chinese.
func formatMoney(l refundflow.Locale, amount int64, c money.Currency) string {
	sym, ok := zhSymbols[c]
	exp, known := c.Exponent()
	if l != refundflow.LocaleZhCN || !ok || !known {
		return money.Format(amount, c)
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	div := int64(1)
	for range exp {
		div *= 10
	}
	s := sign + sym + groupThousands(strconv.FormatInt(amount/div, 10))
	if exp > 0 {
		s += fmt.Sprintf(".%0*d", exp, amount%div)
	}
	return s
}

func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// formatDate writes a civil date: "2026年3月5日" or "5 March 2026". Dates
// are never converted between zones (an arrival date is the same day
// everywhere).
func formatDate(l refundflow.Locale, d calendar.Date) string {
	if l == refundflow.LocaleZhCN {
		return fmt.Sprintf("%d年%d月%d日", d.Year, int(d.Month), d.Day)
	}
	return fmt.Sprintf("%d %s %d", d.Day, d.Month, d.Year)
}

// formatDateTime writes an instant as the reader's wall clock with the zone
// named, because a deadline without a zone is a trap: "北京时间 2026年3月7日 18:00"
// (the way Chinese names it), "2026年3月7日 18:00（UTC+9）", "7 March 2026,
// 18:00 (Beijing time)".
func formatDateTime(l refundflow.Locale, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	day := formatDate(l, calendar.DateOf(t))
	clock := t.Format("15:04")
	beijing := isBeijingTime(t.Location())
	switch {
	case l == refundflow.LocaleZhCN && beijing:
		return "北京时间 " + day + " " + clock
	case l == refundflow.LocaleZhCN:
		return day + " " + clock + "（" + utcOffset(t) + "）"
	case beijing:
		return day + ", " + clock + " (Beijing time)"
	}
	return day + ", " + clock + " (" + utcOffset(t) + ")"
}

func isBeijingTime(loc *time.Location) bool {
	switch loc.String() {
	case "Asia/Shanghai", "Asia/Chongqing", "PRC":
		return true
	}
	return false
}

func utcOffset(t time.Time) string {
	_, offset := t.Zone()
	if offset == 0 {
		return "UTC"
	}
	sign := "+"
	if offset < 0 {
		sign, offset = "-", -offset
	}
	h, m := offset/3600, offset%3600/60
	if m == 0 {
		return fmt.Sprintf("UTC%s%d", sign, h)
	}
	return fmt.Sprintf("UTC%s%d:%02d", sign, h, m)
}
