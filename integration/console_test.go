package integration

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/activities/contract"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/notify"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/postgres/pgtest"
	"github.com/refundflow/refundflow/refund"
)

// artifacts is where the browser tests leave their screenshots.
var artifacts = filepath.Join("..", "test-artifacts", "console")

// browser is one headless Chromium (Debian's) with its own profile; it
// records every console error and uncaught exception of the pages.
type browser struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("the browser tests need Debian's Chromium: apt-get install chromium (make test installs it as root: scripts/deps test)")
	}
	// Chromium may still be writing its profile for a moment after it is
	// told to quit, so the profile is removed by hand, not by t.TempDir.
	profile, err := os.MkdirTemp("", "refundflow-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	b := &browser{t: t, ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				b.record(fmt.Sprintf("console.error: %v", ev.Args))
			}
		case *runtime.EventExceptionThrown:
			b.record("exception: " + ev.ExceptionDetails.Error())
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

func (b *browser) record(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, s)
}

func (b *browser) run(actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// noErrors fails the test if any page logged an error or threw.
func (b *browser) noErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) > 0 {
		b.t.Fatalf("the pages reported errors: %v", b.errors)
	}
}

// screenshot saves the page at desktop and phone widths, and checks that
// it fits each width.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		b.t.Fatal(err)
	}
	for _, size := range []struct {
		w, h int64
		tag  string
	}{{1280, 800, "desktop"}, {390, 844, "phone"}} {
		var png []byte
		var width int64
		b.run(chromedp.EmulateViewport(size.w, size.h), chromedp.FullScreenshot(&png, 100),
			chromedp.Evaluate(`document.documentElement.scrollWidth`, &width))
		// Usable at this width: wide tables scroll inside their card,
		// the page itself never scrolls sideways.
		if width > size.w {
			b.t.Errorf("%s at %d px wide: the page is %d px wide", name, size.w, width)
		}
		if err := os.WriteFile(filepath.Join(artifacts, name+"-"+size.tag+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.run(chromedp.EmulateViewport(1280, 800))
}

func (b *browser) signIn(s *stack, role refundflow.Role) {
	b.t.Helper()
	b.run(
		chromedp.Navigate(s.api+"/console/signin"),
		chromedp.WaitVisible("#key", chromedp.ByID),
		chromedp.SendKeys("#key", s.keys[role].secret, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible(`main[data-page="queue"]`, chromedp.ByQuery),
	)
	var path, body string
	b.run(chromedp.Evaluate(`location.pathname`, &path), chromedp.Evaluate(`document.body.innerText`, &body))
	if path != "/console/queue" {
		b.t.Fatalf("%s sign-in landed on %s: %s", role, path, body)
	}
}

// An approver signs in, approves a case from the queue, and watches it
// reach refunded on the case page.
func TestApproverHandlesTheQueueInTheBrowser(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seed("it-console", course("c-console"), 29900, 20*24*time.Hour)
	var c refundCase
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-console", "reason": "quality_issue"}, &c)
	s.waitFor(c.ID, refundflow.StatusAwaitingApproval)

	b := newBrowser(t)
	b.run(chromedp.Navigate(s.api + "/console/signin"))
	b.screenshot("signin")
	b.signIn(s, approver)
	b.screenshot("queue")
	b.inChinese("queue-zh")

	row := fmt.Sprintf(`article[data-case=%q]`, c.ID)
	b.run(
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.SendKeys(row+` form.approve input[name=note]`, "lesson 3 was missing", chromedp.ByQuery),
		chromedp.Click(row+` form.approve button`, chromedp.ByQuery),
		chromedp.WaitVisible(`main[data-page="queue"] .alert.ok`, chromedp.ByQuery),
	)
	var flash string
	b.run(chromedp.Text(`.alert.ok`, &flash, chromedp.ByQuery))
	if !strings.Contains(flash, c.ID) {
		t.Fatalf("flash after approving: %q", flash)
	}

	deadline := time.Now().Add(time.Minute)
	var status string
	for {
		b.run(chromedp.Navigate(s.api+"/console/refunds/"+c.ID), chromedp.WaitVisible(`main[data-page="case"]`, chromedp.ByQuery),
			chromedp.AttributeValue("#status", "data-status", &status, nil, chromedp.ByID))
		if status == "refunded" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status != "refunded" {
		t.Fatalf("case page shows %q, not refunded", status)
	}
	var stripeID, temporalLink string
	b.run(chromedp.Text("#stripe-id", &stripeID, chromedp.ByID), chromedp.AttributeValue("#temporal-link", "href", &temporalLink, nil, chromedp.ByID))
	if !strings.HasPrefix(stripeID, "re_") || !strings.HasSuffix(temporalLink, "/workflows/refund%2F"+c.ID) {
		t.Fatalf("case page: stripe %q, temporal link %q", stripeID, temporalLink)
	}
	b.screenshot("case")
	b.inChinese("case-zh")
	b.run(chromedp.Navigate(s.api+"/console/outbox"), chromedp.WaitVisible(`main[data-page="outbox"]`, chromedp.ByQuery))
	b.screenshot("outbox")
	b.noErrors()
}

// An agent sees the queue but no approve button, and a hand-made approve
// post is refused.
func TestAgentCannotApproveInTheBrowser(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seed("it-agent", course("c-agent"), 29900, 20*24*time.Hour)
	var c refundCase
	s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "it-agent", "reason": "quality_issue"}, &c)
	s.waitFor(c.ID, refundflow.StatusAwaitingApproval)

	b := newBrowser(t)
	b.signIn(s, agent)
	var forms int
	b.run(
		chromedp.WaitVisible(fmt.Sprintf(`article[data-case=%q]`, c.ID), chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("form.approve, form.reject").length`, &forms),
	)
	if forms != 0 {
		t.Fatalf("an agent sees %d approve/reject forms", forms)
	}
	var status int
	b.run(chromedp.Evaluate(fmt.Sprintf(`(async () => {
		const csrf = document.querySelector("input[name=csrf]").value;
		const r = await fetch("/console/refunds/%s/approve", {method: "POST", body: new URLSearchParams({csrf})});
		return r.status;
	})()`, c.ID), &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != 403 {
		t.Fatalf("an agent's approve post answered %d", status)
	}
	if got := s.waitFor(c.ID, refundflow.StatusAwaitingApproval); got.Status != refundflow.StatusAwaitingApproval {
		t.Fatalf("case moved to %s", got.Status)
	}
	b.noErrors()
}

// The platform's machine key cannot sign in, and a form from another site
// is refused.
func TestConsoleRefusesPlatformKeysAndCrossSiteForms(t *testing.T) {
	s := newStack(t, stackOptions{})
	b := newBrowser(t)
	var msg string
	b.run(
		chromedp.Navigate(s.api+"/console/signin"),
		chromedp.SendKeys("#key", s.keys[platform].secret, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible(`main[data-page="signin"] .alert.error`, chromedp.ByQuery),
		chromedp.Text(".alert.error", &msg, chromedp.ByQuery),
	)
	if !strings.Contains(msg, "Platform keys") {
		t.Fatalf("platform key sign-in: %q", msg)
	}
	b.noErrors()

	code := s.doRaw("POST", "/console/signin", "key="+s.keys[approver].secret, "Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "cross-site")
	if code != 403 {
		t.Fatalf("cross-site sign-in form answered %d", code)
	}
}

// visit opens a console page and waits until it has rendered.
func (b *browser) visit(s *stack, path, page string) {
	b.t.Helper()
	b.run(chromedp.Navigate(s.api+path), chromedp.WaitVisible(fmt.Sprintf(`main[data-page=%q]`, page), chromedp.ByQuery))
}

// fetched is what a request made from the page (with its session) got.
type fetched struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Body   string `json:"body"`
}

// fetch sends a request from the page, as a script of the console would:
// GET without form, POST with the session's form token and the fields.
func (b *browser) fetch(method, path string, form map[string]string) fetched {
	b.t.Helper()
	fields, err := json.Marshal(form)
	if err != nil {
		b.t.Fatal(err)
	}
	var out fetched
	b.run(chromedp.Evaluate(fmt.Sprintf(`(async () => {
		const init = {method: %q};
		if (init.method === "POST") {
			const body = new URLSearchParams(%s);
			const token = document.querySelector("input[name=csrf]");
			if (token) body.set("csrf", token.value);
			init.body = body;
		}
		const r = await fetch(%q, init);
		return {status: r.status, type: r.headers.get("Content-Type") || "", url: r.url, body: await r.text()};
	})()`, method, fields, path), &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	return out
}

// inChinese switches the console to Chinese, saves the current page's
// screenshots as name, and switches back.
func (b *browser) inChinese(name string) {
	b.t.Helper()
	var page string
	b.run(chromedp.AttributeValue("main", "data-page", &page, nil, chromedp.ByQuery))
	toggle := `header form[action="/console/lang"] button`
	b.run(chromedp.Click(toggle, chromedp.ByQuery), chromedp.WaitVisible(fmt.Sprintf(`html[lang="zh-CN"] main[data-page=%q]`, page), chromedp.ByQuery))
	b.screenshot(name)
	b.run(chromedp.Click(toggle, chromedp.ByQuery), chromedp.WaitVisible(fmt.Sprintf(`html[lang="en"] main[data-page=%q]`, page), chromedp.ByQuery))
}

// texts returns the text of every element the selector matches.
func (b *browser) texts(selector string) []string {
	b.t.Helper()
	var out []string
	b.run(chromedp.Evaluate(fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.textContent.trim())`, selector), &out))
	return out
}

func (b *browser) count(selector string) int {
	b.t.Helper()
	var n int
	b.run(chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%q).length`, selector), &n))
	return n
}

// raw calls the API as role and returns the status, content type and body.
func (s *stack) raw(role refundflow.Role, path string) (int, string, string) {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.api+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.keys[role].secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// openTicket opens a ticket as the platform and returns its id.
func (s *stack) openTicket(tier, learner, subject, body string) string {
	s.t.Helper()
	var tk ticket
	if code := s.do(platform, "POST", "/v1/tickets", map[string]any{
		"tier": tier, "learner_id": learner, "learner_email": learner + "@example.com", "locale": "en", "subject": subject, "body": body,
	}, &tk); code != http.StatusCreated {
		s.t.Fatalf("open ticket: %d", code)
	}
	return tk.ID
}

func (s *stack) slaPolicy(tier, firstResponse string, warnAt float64) {
	s.t.Helper()
	policy := map[string]any{"calendar": "24x7", "first_response": firstResponse, "resolution": "2h", "warn_at": warnAt}
	if code := s.do(admin, "PUT", "/v1/sla-policies/"+tier, policy, nil); code != http.StatusOK {
		s.t.Fatalf("PUT SLA policy: %d", code)
	}
}

// An agent finds the ticket on the board by its SLA state, sees every
// deadline, answers the learner and moves the ticket through the moves
// its state allows; a move it does not allow is refused.
func TestAgentWorksATicketFromTheBoard(t *testing.T) {
	s := newStack(t, stackOptions{})
	// Tickets pin their tier's policy when they open: one breaches after
	// 3 s, one warns after 3 s of a 20-minute target.
	s.slaPolicy("paid", "3s", 0.5)
	late := s.openTicket("paid", "learner-late", "Refund not received after a week", "I was told 3-5 business days.")
	s.slaPolicy("paid", "20m", 0.0025)
	soon := s.openTicket("paid", "learner-soon", "Cannot download the course slides", "The PDF link of lesson 4 fails.")
	work := s.openTicket("vip", "learner-vip", "Live class link does not open", "The link in the email gives a 404.\nClass starts at 8 pm.")
	s.waitForTicket(late, "breached", func(x ticket) bool { return len(x.SLA.Breaches) > 0 })
	s.waitForTicket(soon, "warned", func(x ticket) bool { return len(x.SLA.Warnings) > 0 })

	b := newBrowser(t)
	b.signIn(s, agent)
	b.visit(s, "/console/tickets", "tickets")
	for state, id := range map[string]string{"breached": late, "warning": soon, "ok": work} {
		if n := b.count(fmt.Sprintf(`section[data-state=%q] article[data-ticket=%q]`, state, id)); n != 1 {
			t.Fatalf("ticket %s is not in the %s column", id, state)
		}
	}
	if n := b.count(`section[data-state="ok"] article time.countdown`); n != 1 {
		t.Fatalf("%d countdowns in the ok column", n)
	}
	b.screenshot("tickets")
	b.inChinese("tickets-zh")

	b.run(chromedp.Click(fmt.Sprintf(`article[data-ticket=%q] a.ticket-subject`, work), chromedp.ByQuery),
		chromedp.WaitVisible(`main[data-page="ticket"]`, chromedp.ByQuery))
	if b.count(`#deadlines tr[data-target="first_response"][data-state="running"] time.countdown`) != 1 ||
		b.count(`#deadlines tr[data-target="resolution"][data-state="running"] time.countdown`) != 1 {
		t.Fatal("the ticket page does not count down to both deadlines")
	}
	moves := func() []string {
		var out []string
		b.run(chromedp.Evaluate(`[...document.querySelectorAll("button[data-move]")].map(e => e.dataset.move)`, &out))
		return out
	}
	if got := moves(); !slices.Equal(got, []string{"waiting_on_customer", "resolved"}) {
		t.Fatalf("an open ticket offers %v", got)
	}
	if r := b.fetch("POST", "/console/tickets/"+work+"/status", map[string]string{"status": "closed"}); !strings.Contains(r.URL, "error=") {
		t.Fatalf("closing an open ticket by hand: %+v", r)
	}

	b.run(
		chromedp.SendKeys("#reply-body", "Sorry about that! Here is a working link: https://example.com/live/8pm", chromedp.ByID),
		chromedp.Click("#send-reply", chromedp.ByID),
		chromedp.WaitVisible(`main[data-page="ticket"] .alert.ok`, chromedp.ByQuery),
	)
	if got := b.texts(".msg.from-agent .msg-body"); len(got) != 1 || !strings.Contains(got[0], "working link") {
		t.Fatalf("agent messages %v", got)
	}
	if b.count(`#deadlines tr[data-target="first_response"][data-state="met"]`) != 1 {
		t.Fatal("the reply did not meet the first-response target")
	}
	b.screenshot("ticket")

	move := func(to string) {
		b.run(chromedp.Click(fmt.Sprintf(`button[data-move=%q]`, to), chromedp.ByQuery),
			chromedp.WaitVisible(fmt.Sprintf(`#ticket-status[data-status=%q]`, to), chromedp.ByQuery))
	}
	move("waiting_on_customer")
	if b.count("#paused") != 1 || b.count(`#deadlines tr[data-target="resolution"][data-state="paused"]`) != 1 {
		t.Fatal("waiting on the customer does not show the clocks paused")
	}
	if got := moves(); !slices.Equal(got, []string{"open", "resolved"}) {
		t.Fatalf("a ticket waiting on the customer offers %v", got)
	}
	move("resolved")
	if got := moves(); !slices.Equal(got, []string{"open", "closed"}) {
		t.Fatalf("a resolved ticket offers %v", got)
	}
	var tk ticket
	s.do(agent, "GET", "/v1/tickets/"+work, nil, &tk)
	if tk.Status != refundflow.TicketResolved || len(tk.Messages) != 2 || tk.Messages[1].Author != "agent" {
		t.Fatalf("ticket %s is %s with messages %+v", work, tk.Status, tk.Messages)
	}
	b.noErrors()
}

// An admin starts the remediation of an outage from the console and
// watches its progress (the page refreshes itself) reach completed.
func TestAdminRemediatesAnOutageFromTheConsole(t *testing.T) {
	s := newStack(t, stackOptions{})
	started := time.Now().Add(-30 * 24 * time.Hour).UTC()
	s.world.Product(refundflow.Product{ID: "live-console", Type: refundflow.LiveCourse, Title: "Live console", SessionsTotal: 12, SessionsHeld: 5, StartsAt: &started})
	const orders = 3
	for i := range orders {
		s.world.Order(refundflow.Order{ID: fmt.Sprintf("oc-%d", i), LearnerID: fmt.Sprintf("learner-oc-%d", i), ProductID: "live-console",
			Amount: 12000, Currency: "CNY", PurchasedAt: time.Now().Add(-7 * 24 * time.Hour).UTC()})
	}
	ended := time.Now().Add(-10 * time.Hour).UTC()
	for _, o := range []map[string]any{
		{"id": "cdn-console", "product_ids": []string{"live-console"}, "reason": "CDN down in east China",
			"started_at": ended.Add(-50 * time.Hour).Format(time.RFC3339), "ended_at": ended.Format(time.RFC3339)},
		{"id": "api-ongoing", "product_ids": []string{}, "started_at": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)},
		{"id": "blip", "product_ids": []string{"live-console"}, "reason": "a one-hour blip",
			"started_at": ended.Add(-time.Hour).Format(time.RFC3339), "ended_at": ended.Format(time.RFC3339)},
	} {
		if code := s.do(admin, "POST", "/v1/outages", o, nil); code != http.StatusCreated {
			t.Fatalf("declare outage: %d", code)
		}
	}

	b := newBrowser(t)
	b.signIn(s, admin)
	b.visit(s, "/console/outages", "outages")
	if b.count(`article[data-outage="api-ongoing"] form.remediate`) != 0 {
		t.Fatal("an outage still going on offers a remediation")
	}
	// The API refuses an outage shorter than the policy's threshold, so
	// the page does not offer it.
	if b.count(`article[data-outage="blip"]`) != 1 || b.count(`article[data-outage="blip"] form.remediate`) != 0 {
		t.Fatal("a one-hour outage is missing, or offers a remediation")
	}
	row := `article[data-outage="cdn-console"]`
	b.run(
		chromedp.SetValue(row+` select[name=mode]`, "refund", chromedp.ByQuery),
		chromedp.Click(row+` form.remediate button`, chromedp.ByQuery),
		chromedp.WaitVisible(`main[data-page="outages"] .alert.ok`, chromedp.ByQuery),
	)
	deadline := time.Now().Add(90 * time.Second)
	var state string
	for time.Now().Before(deadline) {
		// The page reloads itself while the remediation runs; a read that
		// meets a reload is simply tried again.
		_ = chromedp.Run(b.ctx, chromedp.Evaluate(fmt.Sprintf(`(() => {
			const r = document.querySelector(%q);
			return r ? r.querySelector("[data-status]").dataset.status + "/" + (r.querySelector("b.refunded") || {}).textContent : "";
		})()`, row), &state))
		if state == fmt.Sprintf("completed/%d", orders) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if state != fmt.Sprintf("completed/%d", orders) {
		t.Fatalf("the outage page shows %q after 90 s", state)
	}
	if done := b.texts(row + " b.done"); len(done) != 1 || !strings.Contains(done[0], fmt.Sprintf("%d of %d", orders, orders)) {
		t.Fatalf("progress %v", done)
	}
	if b.count(row+" svg.bar rect.c-refunded") != 1 || b.count(row+" form.cancel") != 0 {
		t.Fatal("a completed remediation shows no refunded bar, or still offers to cancel")
	}
	b.screenshot("outages")
	b.noErrors()
}

// bookRefund seeds an order of the product and its case; when refund is
// not zero the case's refund settled at Stripe, booked in the ledger (with
// reversal clawed back from the creator), as the case's workflow does.
func (s *stack) bookRefund(orderID, productID string, paid, refunded int64, reason policy.Reason, reversal int64) string {
	s.t.Helper()
	s.world.Order(refundflow.Order{ID: orderID, LearnerID: "learner-" + orderID, ProductID: productID, Amount: paid, Currency: "CNY",
		PurchasedAt: time.Now().Add(-5 * 24 * time.Hour).UTC()})
	id := s.world.Case("rf-"+orderID, orderID, reason, s.keys[platform].id)
	if refunded == 0 {
		return id
	}
	pgtest.Pay(s.t, s.world.DB, refunded, refund.Settlement{RefundID: id, Attempt: 1, Status: "succeeded", ProviderRefundID: "re_" + orderID,
		ProviderCreated: time.Now(), ChargeFee: paid * 3 / 100, TransferReversal: reversal})
	return id
}

// caseStep records the case's next status, as its workflow would.
func (s *stack) caseStep(id string, status refundflow.RefundStatus, amount int64) {
	s.t.Helper()
	now := time.Now()
	snap := refund.Snapshot{Status: status, Amount: &amount}
	if !status.Open() {
		snap.ClosedAt = &now
	}
	if err := s.world.DB.RecordStep(context.Background(), refund.Step{RefundID: id, Seq: 1, At: now, Actor: refundflow.SystemActor,
		Event: string(status), Snapshot: snap}, notify.Outbox{}); err != nil {
		s.t.Fatal(err)
	}
}

// seedMoney gives finance and analytics a month to show: three courses
// (one refunded far above the others, mostly for one reason), a creator's
// course whose refunds claw back its share, a case an offer retained, one
// rejected, one waiting, one whose refund failed, a reconciliation run
// that adopted a dashboard refund and found a mismatch, and the refund-rate
// monitor's run over all of it. It returns what the ledger refunded.
func (s *stack) seedMoney() int64 {
	s.t.Helper()
	ctx := context.Background()
	w := s.world
	w.Product(refundflow.Product{ID: "c-python", Type: refundflow.RecordedCourse, Title: "Python 入门到实战", LessonsTotal: 40})
	w.Product(refundflow.Product{ID: "c-excel", Type: refundflow.RecordedCourse, Title: "Excel for analysts", LessonsTotal: 20})
	w.Product(refundflow.Product{ID: "c-creator", Type: refundflow.RecordedCourse, Title: "Watercolour with Lin", LessonsTotal: 12,
		CreatorAccount: "acct_console_creator"})
	var refunded int64
	book := func(orderID, product string, paid, refund int64, reason policy.Reason, reversal int64) string {
		refunded += refund
		return s.bookRefund(orderID, product, paid, refund, reason, reversal)
	}
	for i := range 20 {
		switch {
		case i < 9:
			book(fmt.Sprintf("py-%02d", i), "c-python", 19900, 19900, policy.ReasonQualityIssue, 0)
		case i < 11:
			book(fmt.Sprintf("py-%02d", i), "c-python", 19900, 9950, policy.ReasonNotAsExpected, 0)
		case i < 12:
			book(fmt.Sprintf("py-%02d", i), "c-python", 19900, 19900, policy.ReasonNotAsExpected, 0)
		default:
			book(fmt.Sprintf("py-%02d", i), "c-python", 19900, 0, policy.ReasonOther, 0)
		}
	}
	for i := range 10 {
		refund := int64(0)
		if i == 0 {
			refund = 9900
		}
		book(fmt.Sprintf("xl-%02d", i), "c-excel", 9900, refund, policy.ReasonChangedMind, 0)
	}
	book("wc-00", "c-creator", 10000, 6000, policy.ReasonScheduleChange, 3000)
	book("wc-01", "c-creator", 10000, 4000, policy.ReasonQualityIssue, 2000)
	s.caseStep(book("wc-02", "c-creator", 10000, 0, policy.ReasonNotAsExpected, 0), refundflow.StatusRetained, 8800)
	s.caseStep(book("wc-03", "c-creator", 10000, 0, policy.ReasonChangedMind, 0), refundflow.StatusRejected, 0)
	s.caseStep(book("wc-04", "c-creator", 10000, 0, policy.ReasonQualityIssue, 0), refundflow.StatusAwaitingApproval, 10000)
	failed := book("wc-05", "c-creator", 10000, 0, policy.ReasonTechnicalFailure, 0)
	for i := 6; i < 10; i++ {
		book(fmt.Sprintf("wc-%02d", i), "c-creator", 10000, 0, policy.ReasonOther, 0)
	}
	pgtest.Pay(s.t, w.DB, 10000, refund.Settlement{RefundID: failed, Attempt: 1, Status: "failed", ProviderRefundID: "re_wc-05",
		FailureReason: "expired_or_canceled_card", ProviderCreated: time.Now(), ChargeFee: 300})

	now := time.Now()
	const run = "reconcile/console"
	if _, err := w.DB.StartReconciliation(ctx, run, "manual", now.Add(-time.Hour), now.Add(time.Hour)); err != nil {
		s.t.Fatal(err)
	}
	for _, r := range []postgres.StripeRefund{
		{ID: "re_dashboard", Status: "succeeded", Amount: 1200, Currency: "CNY", PaymentIntent: "pi_xl-05", Created: now},
		{ID: "re_py-00", Status: "succeeded", Amount: 19000, Currency: "CNY", PaymentIntent: "pi_py-00", Created: now, RefundID: "rf-py-00", Attempt: "1"},
	} {
		if _, err := w.DB.ReconcileStripeRefund(ctx, run, r); err != nil {
			s.t.Fatal(err)
		}
	}
	if _, err := w.DB.FinishReconciliation(ctx, run); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.app.Activities().MonitorCourses(ctx, contract.MonitorInput{At: now, Window: 30 * 24 * time.Hour}); err != nil {
		s.t.Fatal(err)
	}
	return refunded + 1200 // the dashboard refund the reconciliation adopted
}

// Finance sees the month's money — refunds full and partial, clawbacks per
// creator, the ledger per day, the reconciliation's findings — and
// downloads the same CSV the API serves; analytics draws it as charts.
func TestFinanceSeesTheMonthsMoneyInTheConsole(t *testing.T) {
	s := newStack(t, stackOptions{})
	refunded := s.seedMoney()

	b := newBrowser(t)
	b.signIn(s, approver)
	b.visit(s, "/console/finance", "finance")
	if got := b.texts(`.tile[data-currency="CNY"] [data-metric="refunded"]`); len(got) != 1 || got[0] != money.Format(refunded, "CNY") {
		t.Fatalf("refunded %v, want %s", got, money.Format(refunded, "CNY"))
	}
	if got := b.texts("#clawbacks td"); len(got) != 4 || got[0] != "acct_console_creator" || got[3] != money.Format(5000, "CNY") {
		t.Fatalf("clawbacks %v", got)
	}
	if b.count(`.balance li[data-currency="CNY"] .badge.ok`) != 1 {
		t.Fatal("the ledger is not shown balanced")
	}
	if b.count("#findings tr.finding-manual_refund_adopted") != 1 || b.count("#findings tr.finding-amount_mismatch") != 1 {
		t.Fatalf("findings %v", b.texts("#findings tbody tr"))
	}
	b.screenshot("finance")
	b.inChinese("finance-zh")

	for _, export := range []struct{ link, api string }{
		{"#csv-refunds", "/v1/reports/refunds?format=csv&"},
		{"#csv-ledger", "/v1/reports/ledger?format=csv&"},
		{"#csv-reconciliation", "/v1/reports/reconciliation?format=csv&"},
	} {
		var href string
		b.run(chromedp.AttributeValue(export.link, "href", &href, nil, chromedp.ByQuery))
		got := b.fetch("GET", href, nil)
		_, query, _ := strings.Cut(href, "?")
		code, _, want := s.raw(approver, export.api+query)
		if got.Status != http.StatusOK || got.Type != "text/csv; charset=utf-8" || code != http.StatusOK || got.Body != want {
			t.Fatalf("%s: %d %s\n%s\nthe API says (%d):\n%s", href, got.Status, got.Type, got.Body, code, want)
		}
	}
	var href string
	b.run(chromedp.AttributeValue("#csv-refunds", "href", &href, nil, chromedp.ByQuery))
	rows, err := csv.NewReader(strings.NewReader(b.fetch("GET", href, nil).Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rows, func(r []string) bool {
		return r[2] == "refunded" && r[4] == "16" && r[5] == strconv.FormatInt(refunded, 10)
	}) {
		t.Fatalf("no row of the 16 refunds (%d) in %v", refunded, rows)
	}

	b.visit(s, "/console/analytics", "analytics")
	if n := b.count("svg.chart"); n != 4 {
		t.Fatalf("%d charts", n)
	}
	if b.count("#chart-per-day svg rect.c-full") == 0 || b.count("#chart-per-day svg rect.c-partial") == 0 {
		t.Fatal("the refunds-per-day chart draws no full and partial bars")
	}
	if b.count(`#courses tr.flagged[data-course="c-python"]`) != 1 || b.count(`#courses svg rect.c-flag`) != 1 || b.count(`#courses svg line.marker`) != 1 {
		t.Fatal("the flagged course is not shown against the median")
	}
	if got := b.fetch("GET", "/console/analytics/courses.csv", nil); got.Type != "text/csv; charset=utf-8" || !strings.Contains(got.Body, "c-python") {
		t.Fatalf("courses CSV: %+v", got)
	}
	b.screenshot("analytics")
	b.inChinese("analytics-zh")
	b.noErrors()
}

// Finance (an admin) reconciles the month from the finance page: the run
// goes through the daily schedule's workflow, the page follows it until it
// has finished and shows when it ran and what it found — here a refund made
// by hand in Stripe's dashboard, adopted onto its order. An approver reads
// the same report but is offered no button.
func TestFinanceStartsAReconciliationFromTheFinancePage(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seed("rc-dash", course("rc-course"), 5000, 3*24*time.Hour)
	sc := &stripeclient.API{}
	sc.Init("sk_test_dashboard", &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: stripe.String(s.world.StripeAt)})})
	if _, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String("pi_rc-dash"), Amount: stripe.Int64(1200)}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	b.signIn(s, admin)
	b.visit(s, "/console/finance", "finance")
	if b.count("#no-reconciliation") != 1 {
		t.Fatalf("a new install shows a reconciliation: %v", b.texts("#reconciliation dl"))
	}
	b.run(chromedp.Click("#reconcile-now", chromedp.ByID), chromedp.WaitVisible(`#reconciliation .alert.ok`, chromedp.ByQuery))
	deadline := time.Now().Add(90 * time.Second)
	var status string
	for time.Now().Before(deadline) && status != "finished" {
		// The page reloads itself until the run has finished; a read that
		// meets a reload is simply tried again.
		_ = chromedp.Run(b.ctx, chromedp.Evaluate(`(document.querySelector("#reconciliation-status") || {dataset: {}}).dataset.status || ""`, &status))
		time.Sleep(300 * time.Millisecond)
	}
	if status != "finished" {
		t.Fatalf("the finance page shows the run %q after 90 s", status)
	}
	run := b.texts("#reconciliation-run")
	if len(run) != 1 || !strings.HasPrefix(run[0], "reconcile/manual_") {
		t.Fatalf("run %v", run)
	}
	if got := b.texts("#reconciliation-status"); len(got) != 1 || got[0] != "finished · on demand" {
		t.Fatalf("status %v", got)
	}
	if got := b.texts("#reconciliation-at"); len(got) != 1 || !strings.Contains(got[0], "finished") {
		t.Fatalf("when it ran: %v", got)
	}
	if got := b.texts("#reconciliation-findings"); len(got) != 1 || got[0] != "0 · adopted 1" {
		t.Fatalf("result %v", got)
	}
	if b.count("#findings tr.finding-manual_refund_adopted") != 1 || b.count("#auto-refresh") != 0 {
		t.Fatalf("findings %v", b.texts("#findings tbody tr"))
	}
	var report struct {
		Run struct {
			ID      string `json:"id"`
			Adopted int    `json:"adopted"`
		} `json:"run"`
	}
	if code := s.do(approver, "GET", "/v1/reports/reconciliation", nil, &report); code != http.StatusOK || report.Run.ID != run[0] || report.Run.Adopted != 1 {
		t.Fatalf("the API's report: %d %+v", code, report)
	}
	if got := s.world.OrderNow("rc-dash").RefundedAmount; got != 1200 {
		t.Fatalf("the dashboard refund is not booked onto its order: %d", got)
	}
	b.screenshot("finance-reconciled")

	b.signIn(s, approver)
	b.visit(s, "/console/finance", "finance")
	if b.count("#reconcile-now") != 0 || len(b.texts("#reconciliation-run")) != 1 {
		t.Fatal("an approver is offered the button, or does not see the run")
	}
	b.noErrors()
}

// Each role sees the pages it may use, in its menu and nowhere else: the
// others answer 403, and so do their forms and exports. Every page a role
// may see renders without an error, empty as a new install is.
func TestConsolePagesFollowTheRole(t *testing.T) {
	s := newStack(t, stackOptions{})
	pages := []struct{ path, page string }{
		{"/console/queue", "queue"}, {"/console/tickets", "tickets"}, {"/console/outages", "outages"},
		{"/console/finance", "finance"}, {"/console/analytics", "analytics"}, {"/console/outbox", "outbox"},
		{"/console/webhooks", "webhooks"},
	}
	may := map[refundflow.Role][]string{
		agent:    {"/console/queue", "/console/tickets", "/console/outbox"},
		approver: {"/console/queue", "/console/finance", "/console/analytics", "/console/outbox"},
		admin:    {"/console/queue", "/console/outages", "/console/finance", "/console/analytics", "/console/outbox", "/console/webhooks"},
	}
	others := []struct {
		method, path string
		roles        []refundflow.Role
	}{
		{"GET", "/console/finance/refunds.csv", []refundflow.Role{approver, admin}},
		{"GET", "/console/finance/ledger.csv", []refundflow.Role{approver, admin}},
		{"GET", "/console/analytics/courses.csv", []refundflow.Role{approver, admin}},
		{"GET", "/console/analytics/sla.csv", []refundflow.Role{approver, admin}},
		{"POST", "/console/finance/reconcile", []refundflow.Role{admin}},
		{"POST", "/console/outages/out-x/remediate", []refundflow.Role{admin}},
		{"POST", "/console/outages/out-x/cancel", []refundflow.Role{admin}},
		{"POST", "/console/tickets/tk-x/messages", []refundflow.Role{agent}},
		{"POST", "/console/tickets/tk-x/status", []refundflow.Role{agent}},
		{"POST", "/console/webhooks/whd_1/redeliver", []refundflow.Role{admin}},
		{"POST", "/console/webhooks/redeliver-failed", []refundflow.Role{admin}},
	}
	b := newBrowser(t)
	for _, role := range []refundflow.Role{agent, approver, admin} {
		b.signIn(s, role)
		var nav []string
		b.run(chromedp.Evaluate(`[...document.querySelectorAll("header nav a")].map(a => a.getAttribute("href"))`, &nav))
		if !slices.Equal(nav, may[role]) {
			t.Fatalf("%s's menu: %v, want %v", role, nav, may[role])
		}
		for _, p := range pages {
			if slices.Contains(may[role], p.path) {
				b.visit(s, p.path, p.page)
				continue
			}
			if got := b.fetch("GET", p.path, nil); got.Status != http.StatusForbidden {
				t.Fatalf("%s GET %s: %d", role, p.path, got.Status)
			}
		}
		for _, o := range others {
			got := b.fetch(o.method, o.path, map[string]string{"mode": "refund", "status": "resolved", "body": "hello"})
			if allowed := slices.Contains(o.roles, role); allowed == (got.Status == http.StatusForbidden) {
				t.Fatalf("%s %s %s: %d", role, o.method, o.path, got.Status)
			}
		}
	}
	b.noErrors()
}

// A message that could not be delivered is in the outbox's dead letter,
// with its attempts and last error, for staff to act on.
func TestStaffSeeTheDeadLetterInTheOutbox(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := context.Background()
	db := s.world.DB
	if err := db.WriteOutbox(ctx, notify.Outbox{
		Emails: []notify.Email{{To: "gone@example.com", Subject: "Your refund", Text: "On its way.", MessageID: "rf-dead/0002/refunded"}},
		Events: []notify.Event{{ID: "evt_rf-dead_2_refund.succeeded", Type: notify.EventRefundSucceeded, CreatedAt: time.Now(), Data: map[string]string{"refund_id": "rf-dead"}}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.EmailFailed(ctx, "rf-dead/0002/refunded", time.Now(), "550 5.1.1 no such user", true); err != nil {
		t.Fatal(err)
	}
	if err := db.EventFailed(ctx, "evt_rf-dead_2_refund.succeeded", time.Now(), postgres.DeliveryTry{Attempt: 1, At: time.Now(), HTTPStatus: 410, Error: "410 Gone"}, true); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	b.signIn(s, admin)
	b.visit(s, "/console/outbox", "outbox")
	if n := b.count("details.dead"); n != 2 {
		t.Fatalf("%d dead letters shown", n)
	}
	shown := strings.Join(b.texts("details.dead"), "\n")
	for _, want := range []string{"gone@example.com", "550 5.1.1 no such user", "refund.succeeded", "410 Gone"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the dead letter does not show %q:\n%s", want, shown)
		}
	}
	b.screenshot("outbox-dead-letter")
}
