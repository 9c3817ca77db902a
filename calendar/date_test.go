package calendar

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseDateAcceptsOnlyYYYYMMDD(t *testing.T) {
	d, err := ParseDate("2026-02-14")
	if err != nil || d != (Date{2026, time.February, 14}) {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	for _, bad := range []string{"", "2026-2-14", "2026-02-30", "14/02/2026", "2026-02-14T00:00:00Z", " 2026-02-14"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted a malformed date", bad)
		}
	}
}

func TestDateArithmeticNormalisesAcrossMonthsAndYears(t *testing.T) {
	cases := []struct {
		from Date
		n    int
		want string
	}{
		{Date{2026, 2, 28}, 1, "2026-03-01"},
		{Date{2024, 2, 28}, 1, "2024-02-29"},
		{Date{2026, 12, 31}, 1, "2027-01-01"},
		{Date{2026, 1, 1}, -1, "2025-12-31"},
		{Date{2026, 2, 15}, 0, "2026-02-15"},
	}
	for _, c := range cases {
		if got := c.from.AddDays(c.n).String(); got != c.want {
			t.Errorf("%v.AddDays(%d) = %s, want %s", c.from, c.n, got, c.want)
		}
	}
	if a, b := (Date{2026, 2, 14}), (Date{2026, 2, 15}); !a.Before(b) || !b.After(a) || a.Compare(a) != 0 {
		t.Error("Compare does not order dates")
	}
}

func TestDateMarshalsAsJSONString(t *testing.T) {
	b, err := json.Marshal(Date{2026, time.October, 10})
	if err != nil || string(b) != `"2026-10-10"` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var d Date
	if err := json.Unmarshal([]byte(`"2025-01-26"`), &d); err != nil || d != (Date{2025, time.January, 26}) {
		t.Fatalf("Unmarshal = %v, %v", d, err)
	}
	if err := json.Unmarshal([]byte(`"2025-13-01"`), &d); err == nil {
		t.Fatal("Unmarshal accepted month 13")
	}
}
