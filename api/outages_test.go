package api_test

import (
	"net/http"
	"testing"
)

// outages declares a course and three outages: one of 50 hours, one of
// 30 hours and one still going on.
func outages(e *env) {
	e.do(platform, "PUT", "/v1/products/course-1", recorded())
	for _, o := range []map[string]any{
		{"id": "long", "product_ids": []string{"course-1"}, "started_at": "2026-03-01T00:00:00Z", "ended_at": "2026-03-03T02:00:00Z"},
		{"id": "short", "started_at": "2026-03-01T00:00:00Z", "ended_at": "2026-03-02T06:00:00Z"},
		{"id": "ongoing", "started_at": "2026-03-01T00:00:00Z"},
	} {
		if r := e.do(admin, "POST", "/v1/outages", o); r.Status != http.StatusCreated {
			e.t.Fatalf("outage %v: %d %s", o["id"], r.Status, r.Body)
		}
	}
}

func TestOutageShowsItsRemediationNotStartedUntilAnAdminStartsIt(t *testing.T) {
	e := newEnv(t)
	outages(e)
	got := e.do(admin, "GET", "/v1/outages/long", nil).json(t)
	rem := got["remediation"].(map[string]any)
	if rem["status"] != "not_started" || rem["mode"] != nil || rem["total"] != float64(0) {
		t.Fatalf("remediation %v", rem)
	}
}

// Only an ended outage of at least 48 hours is remediated, in one of the
// two modes; the refusals name what is wrong.
func TestRemediationIsRefusedForOutagesThePolicyDoesNotCover(t *testing.T) {
	e := newEnv(t)
	outages(e)
	for _, c := range []struct {
		name, path string
		body       any
		status     int
		code       string
	}{
		{"unknown mode", "/v1/outages/long/remediate", map[string]any{"mode": "apologise"}, 400, "invalid_mode"},
		{"no mode", "/v1/outages/long/remediate", map[string]any{}, 400, "invalid_mode"},
		{"unknown field", "/v1/outages/long/remediate", map[string]any{"mode": "refund", "dry_run": true}, 400, "unknown_field"},
		{"unknown outage", "/v1/outages/nope/remediate", map[string]any{"mode": "refund"}, 404, "not_found"},
		{"still going on", "/v1/outages/ongoing/remediate", map[string]any{"mode": "refund"}, 409, "outage_not_ended"},
		{"under 48 hours", "/v1/outages/short/remediate", map[string]any{"mode": "offer"}, 422, "outage_too_short"},
		{"cancel before it started", "/v1/outages/long/cancel", nil, 409, "remediation_not_started"},
		{"cancel an unknown outage", "/v1/outages/nope/cancel", nil, 404, "not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(admin, "POST", c.path, c.body)
			if code, _ := r.errorCode(t); r.Status != c.status || code != c.code {
				t.Fatalf("got %d %s, want %d %s\n%s", r.Status, code, c.status, c.code, r.Body)
			}
		})
	}
}
