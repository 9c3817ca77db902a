package web

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// The throttle's budget: Burst failures at once, one more per Refill,
// whole again after Burst×Refill; each IPv4 address and each IPv6 /64 has
// its own.
func TestThrottleBudgetPerAddress(t *testing.T) {
	type try struct {
		after  time.Duration // since the start
		addr   string
		refuse bool
		wait   time.Duration // Retry-After when refused
	}
	for _, c := range []struct {
		name  string
		tries []try
	}{
		{"a burst, then refused until a failure is allowed again", []try{
			{0, "203.0.113.7", false, 0}, {0, "203.0.113.7", false, 0}, {0, "203.0.113.7", false, 0},
			{0, "203.0.113.7", true, 10 * time.Second},
			{4 * time.Second, "203.0.113.7", true, 6 * time.Second},
		}},
		{"one more per refill", []try{
			{0, "203.0.113.7", false, 0}, {0, "203.0.113.7", false, 0}, {0, "203.0.113.7", false, 0},
			{10 * time.Second, "203.0.113.7", false, 0},
			{10 * time.Second, "203.0.113.7", true, 10 * time.Second},
		}},
		{"whole again after burst × refill", []try{
			{0, "203.0.113.7", false, 0}, {0, "203.0.113.7", false, 0}, {0, "203.0.113.7", false, 0},
			{time.Hour, "203.0.113.7", false, 0}, {time.Hour, "203.0.113.7", false, 0}, {time.Hour, "203.0.113.7", false, 0},
			{time.Hour, "203.0.113.7", true, 10 * time.Second},
		}},
		{"another address has its own", []try{
			{0, "203.0.113.7", false, 0}, {0, "203.0.113.7", false, 0}, {0, "203.0.113.7", false, 0},
			{0, "203.0.113.8", false, 0},
		}},
		{"an IPv4 address written as IPv6 is the same", []try{
			{0, "203.0.113.7", false, 0}, {0, "203.0.113.7", false, 0}, {0, "203.0.113.7", false, 0},
			{0, "::ffff:203.0.113.7", true, 10 * time.Second},
		}},
		{"one IPv6 /64 is one budget", []try{
			{0, "2001:db8:1:2::1", false, 0}, {0, "2001:db8:1:2::2", false, 0}, {0, "2001:db8:1:2:ffff::9", false, 0},
			{0, "2001:db8:1:2::77", true, 10 * time.Second},
			{0, "2001:db8:1:3::1", false, 0},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			now := start
			th := NewAuthThrottle(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			th.Burst, th.Refill, th.Now = 3, 10*time.Second, func() time.Time { return now }
			for i, tr := range c.tries {
				now = start.Add(tr.after)
				wait, refused := th.Failed("api", tr.addr)
				if refused != tr.refuse || wait != tr.wait {
					t.Fatalf("try %d (%s at +%s): refused=%v wait=%s, want %v %s", i, tr.addr, tr.after, refused, wait, tr.refuse, tr.wait)
				}
			}
		})
	}
}

func TestRetryAfterIsWholeSecondsAndAtLeastOne(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1", 1500 * time.Millisecond: "2", 3 * time.Second: "3"} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%s) = %s, want %s", d, got, want)
		}
	}
}
