package config

import (
	"slices"
	"testing"
)

// A child process configured by its parent gets the parent's environment
// without any variable the product reads: a developer's SMTP_URL or
// STRIPE_SECRET_KEY does not leak into a measured or chaos-driven worker.
func TestWithoutOwnDropsEveryVariableTheProductReads(t *testing.T) {
	environ := []string{"PATH=/usr/bin", "SMTP_URL=smtp://mail.example", "STRIPE_SECRET_KEY=sk_live_x", "HOME=/root", "DATABASE_URL=postgres://x", "EMPTY="}
	got := WithoutOwn(environ)
	if want := []string{"PATH=/usr/bin", "HOME=/root", "EMPTY="}; !slices.Equal(got, want) {
		t.Fatalf("WithoutOwn = %v, want %v", got, want)
	}
	for _, name := range Names() {
		if slices.Contains(WithoutOwn([]string{name + "=v"}), name+"=v") {
			t.Errorf("%s is kept", name)
		}
	}
}

// TRUSTED_PROXIES takes addresses and CIDR ranges, comma-separated; a
// value that is neither is refused at start, not found out per request.
func TestTrustedProxiesAreAddressesOrRanges(t *testing.T) {
	for v, ok := range map[string]bool{"": true, "10.0.0.1": true, "10.0.0.0/8,192.168.1.1": true, "::1,fd00::/8": true,
		"proxy.internal": false, "10.0.0.0/33": false, "10.0.0.1, 10.0.0.2": false} {
		t.Setenv("DATABASE_URL", "postgres://x")
		t.Setenv("TRUSTED_PROXIES", v)
		_, err := FromEnv()
		if (err == nil) != ok {
			t.Errorf("TRUSTED_PROXIES=%q: %v", v, err)
		}
	}
}
