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
