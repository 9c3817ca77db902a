package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/refundflow/refundflow"
)

// What a form did comes back to its page as a code in the redirect, and
// the page shows that code's fixed words in its language. Nothing from the
// link is formatted (done=%999999[1]s made a 90-byte URL answer 5 MB) or
// shown as it is (error= put anyone's words on a staff page); an unknown
// refusal gets the generic words, an unknown done nothing, and the id of
// the case or outage shows only when it is an id.
func TestFlashMessagesAreFixedTextsForCodes(t *testing.T) {
	e := newConsoleEnv(t)
	e.openTicket("tk-1")
	format := url.QueryEscape("%999999[1]s%999999[1]s%999999[1]s")
	phishing := url.QueryEscape("Your session expired. Sign in again at https://evil.example/console")
	cases := []struct {
		name, path string
		as         refundflow.Role
		lang       string
		shows      []string // texts the page shows
		hides      []string // texts it must not
	}{
		{"a format string as done on the queue", "/console/queue?case=rf-1&done=" + format, approver, "en", nil, []string{"%!", "alert"}},
		{"a format string as done on the outages", "/console/outages?outage=out-1&done=" + format, admin, "en", nil, []string{"%!", "alert"}},
		{"a format string as an error", "/console/queue?case=rf-1&error=" + format, approver, "en", []string{"Not done", "The request was refused."}, []string{"%!", "999999"}},
		{"someone else's words as an error", "/console/queue?case=rf-1&error=" + phishing, approver, "en", []string{"The request was refused."}, []string{"evil.example", "session expired"}},
		{"someone else's words as an error on a ticket", "/console/tickets/tk-1?error=" + phishing, agent, "en", []string{"The request was refused."}, []string{"evil.example"}},
		{"a known done", "/console/queue?case=rf-1&done=approved", approver, "en", []string{"Case rf-1 approved"}, nil},
		{"a known done in Chinese", "/console/queue?case=rf-1&done=approved", approver, "zh-CN", []string{"案件 rf-1 已批准"}, nil},
		{"a known refusal", "/console/queue?case=rf-1&error=case_closed", approver, "en", []string{"Not done", "rf-1", "This case is closed"}, nil},
		{"a known refusal in Chinese", "/console/outages?outage=out-1&error=outage_too_short", admin, "zh-CN", []string{"未完成", "out-1", "故障持续时间不足"}, nil},
		{"a done with an id that is not one", "/console/queue?done=approved&case=" + url.QueryEscape("Call +1 555 0100"), approver, "en", nil, []string{"+1 555", "alert"}},
		{"a known move on a ticket", "/console/tickets/tk-1?done=moved_resolved", agent, "en", []string{"The ticket is resolved"}, nil},
		{"an unknown done on a ticket", "/console/tickets/tk-1?done=" + url.QueryEscape("hacked"), agent, "en", nil, []string{"done_hacked", "alert ok"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := e.send(request{method: "GET", path: c.path, as: c.as, header: map[string]string{"Accept-Language": c.lang}})
			body := rec.Body.String()
			if rec.Code != http.StatusOK || len(body) > 100_000 {
				t.Fatalf("%d, %d bytes", rec.Code, len(body))
			}
			main := body[strings.Index(body, "<main"):]
			for _, s := range c.shows {
				if !strings.Contains(main, s) {
					t.Errorf("the page does not show %q:\n%s", s, main)
				}
			}
			for _, s := range c.hides {
				if strings.Contains(main, s) {
					t.Errorf("the page shows %q:\n%s", s, main)
				}
			}
		})
	}
}

// The language switch sends the browser back only to a console page: a
// back that leaves the site — scheme-relative, a backslash browsers read as
// a slash, dot segments that climb out of /console — goes to the queue
// (back=/console/../\evil.example/ went to /\evil.example/).
func TestLanguageSwitchReturnsOnlyToConsolePages(t *testing.T) {
	e := newConsoleEnv(t)
	for back, want := range map[string]string{
		"/console/tickets":             "/console/tickets",
		"/console/refunds/rf_1":        "/console/refunds/rf_1",
		"/console":                     "/console",
		"":                             "/console/queue",
		"/\\evil.example/":             "/console/queue",
		"//evil.example/console":       "/console/queue",
		"/console/../\\evil.example/":  "/console/queue",
		"/console/..//evil.example/":   "/console/queue",
		"/console/..%2F..%2Fevil":      "/console/queue",
		"/console\\evil.example":       "/console/queue",
		"/console/\\\\evil.example":    "/console/queue",
		"/consoleevil":                 "/console/queue",
		"https://evil.example/console": "/console/queue",
		"/console/queue\r\nX: y":       "/console/queue",
		"/console/queue?done=approved": "/console/queue",
		"/console/\t/evil.example":     "/console/queue",
	} {
		rec := e.send(request{method: "POST", path: "/console/lang", form: url.Values{"lang": {"zh-CN"}, "back": {back}}})
		if got := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || got != want {
			t.Errorf("back=%q: %d to %q, want %q", back, rec.Code, got, want)
		}
	}
}
