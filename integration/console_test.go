package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/refundflow/refundflow"
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
		t.Fatal("the browser tests need Debian's Chromium: apt-get install chromium (.ci/run installs it)")
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

// screenshot saves the page at desktop and phone widths.
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
		b.run(chromedp.EmulateViewport(size.w, size.h), chromedp.FullScreenshot(&png, 100))
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
		b.run(chromedp.Navigate(s.api+"/console/refunds/"+c.ID), chromedp.WaitVisible(`main[data-page="case"]`, chromedp.ByQuery), chromedp.Text("#status", &status, chromedp.ByID))
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
