package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"
)

// driver submits the cases through the API and plays the people (and the
// bank) around them: learners answering offers, withdrawing and appealing,
// approvers approving and rejecting.
type driver struct {
	api   *api
	fake  *fake
	cases []*caseRun
	logf  func(string, ...any)

	mu       sync.Mutex
	byID     map[string]*caseRun
	actions  map[string]int // "approve 200", "approve 409", "approve error"...
	inFlight int            // submissions waiting for their answer
	// late are the submissions of reserved cases.
	late sync.WaitGroup
}

func newDriver(a *api, f *fake, cases []*caseRun, logf func(string, ...any)) *driver {
	return &driver{api: a, fake: f, cases: cases, logf: logf, byID: map[string]*caseRun{}, actions: map[string]int{}}
}

// submit sends the cases that are not reserved for an outage, evenly over
// the duration, a few at a time.
func (d *driver) submit(ctx context.Context, over time.Duration) {
	var flow []*caseRun
	for _, c := range d.cases {
		if !c.reserved {
			flow = append(flow, c)
		}
	}
	start := time.Now()
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, c := range flow {
		at := start.Add(over * time.Duration(i) / time.Duration(len(flow)))
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-time.After(time.Until(at)):
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.submitOne(ctx, c)
		}()
	}
	wg.Wait()
}

// submitReserved sends up to n of the cases kept for an outage, all at
// once, and returns without waiting for the answers (wait tells when they
// are all in). It reports how many it sent.
func (d *driver) submitReserved(ctx context.Context, n int) int {
	d.mu.Lock()
	var batch []*caseRun
	for _, c := range d.cases {
		if c.reserved && !c.sent && len(batch) < n {
			c.sent = true
			batch = append(batch, c)
		}
	}
	d.mu.Unlock()
	for _, c := range batch {
		d.late.Add(1)
		go func() {
			defer d.late.Done()
			d.submitOne(ctx, c)
		}()
	}
	return len(batch)
}

// submitting is how many submissions are waiting for their answer.
func (d *driver) submitting() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inFlight
}

// submitOne sends a case's request the way a platform does: a try that
// fails for want of a server (no answer, a 5xx) is sent again — with the
// same Idempotency-Key, which must give the same case, or without a key,
// when a 409 refund_in_progress names the case the first try opened. Every
// case an answer names is noted: the request must end in exactly one.
func (d *driver) submitOne(ctx context.Context, c *caseRun) {
	body := map[string]any{"order_id": c.orderID, "reason": c.path.reason, "skip_retention": c.path.skip,
		"description": "chaos run, path " + c.path.name}
	var headers []string
	if !c.keyless {
		headers = []string{"Idempotency-Key", "chaos-" + c.orderID}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for try := 0; ; try++ {
		var out caseJSON
		d.mu.Lock()
		d.inFlight++
		d.mu.Unlock()
		status, err := d.api.call(ctx, "platform", "POST", "/v1/refunds", body, &out, headers...)
		d.mu.Lock()
		d.inFlight--
		d.mu.Unlock()
		d.count("submit", status, err)
		named, open := namedCase(err)
		if err == nil {
			named = out.ID
		}
		d.mu.Lock()
		if named != "" && !slices.Contains(c.named, named) {
			c.named = append(c.named, named)
		}
		if err == nil || open {
			c.id, c.status, c.viaConflict = named, out.Status, open
			d.byID[c.id] = c
			d.mu.Unlock()
			return
		}
		c.failures++
		c.submitErr = err.Error()
		if status == 0 || status >= 500 {
			c.metOutage = true
		}
		d.mu.Unlock()
		if (status >= 400 && status < 500) || time.Now().After(deadline) {
			d.logf("case of order %s not submitted: %v", c.orderID, err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(time.Duration(500<<min(try, 4))*time.Millisecond, 5*time.Second)):
		}
	}
}

// conduct looks at every case once a round and does what its path says
// for the status it shows, until ctx ends or every case has reached the
// status its path leads to (it reports whether they all have).
func (d *driver) conduct(ctx context.Context, submitted <-chan struct{}) bool {
	finished := false
	for {
		select {
		case <-submitted:
			finished = true
			submitted = nil
		default:
		}
		if err := d.refresh(ctx); err != nil && ctx.Err() == nil {
			d.logf("list cases: %v", err)
		}
		if finished && d.allSettled() {
			return true
		}
		d.act(ctx)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
}

// refresh reads every case's status from the read model.
func (d *driver) refresh(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rows, err := d.api.listCases(rctx, 50)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range rows {
		if c := d.byID[r.ID]; c != nil {
			c.status = r.Status
		}
	}
	return nil
}

// allSettled reports whether every case shows the status its path ends in
// (a case whose submission was given up on counts as settled: it is a
// violation of its own).
func (d *driver) allSettled() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.cases {
		if c.id != "" && c.status != c.path.final {
			return false
		}
		if c.id == "" && c.submitErr == "" {
			return false
		}
	}
	return true
}

type todo struct {
	c       *caseRun
	a       action
	percent int64
}

// act does this round's actions, a few at a time, each bounded in time.
func (d *driver) act(ctx context.Context) {
	var work []todo
	now := time.Now()
	d.mu.Lock()
	for _, c := range d.cases {
		if c.id == "" || now.Before(c.nextTry) {
			continue
		}
		if a, pct := c.path.act(c.status, c.appealed); a != actNone && !c.did[a] {
			work = append(work, todo{c, a, pct})
		}
	}
	d.mu.Unlock()
	sort.Slice(work, func(i, j int) bool { return work[i].c.n < work[j].c.n })

	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, w := range work {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			d.do(actx, w)
		}()
	}
	wg.Wait()
}

// do performs one action. The read model may lag behind the case, and an
// answer may be lost while a process is down, so an action can arrive
// twice or late: the workflow's validators refuse what no longer fits
// (409), which is harmless, and the next round looks again.
func (d *driver) do(ctx context.Context, w todo) {
	c := w.c
	if c.path.name == "appeal_approved" || c.path.name == "policy_appealed" {
		// Which approval round this is decides the action: ask the case.
		var full caseJSON
		if _, err := d.api.call(ctx, "admin", "GET", "/v1/refunds/"+c.id, nil, &full); err != nil {
			d.retryLater(c)
			return
		}
		d.mu.Lock()
		c.status, c.appealed = full.Status, full.Appeal.Appealed
		a, pct := c.path.act(c.status, c.appealed)
		done := c.did[a]
		d.mu.Unlock()
		if a == actNone || done {
			return
		}
		w.a, w.percent = a, pct
	}
	var status int
	var err error
	base := "/v1/refunds/" + c.id
	switch w.a {
	case actDecline:
		status, err = d.api.call(ctx, "platform", "POST", base+"/offers/decline", map[string]string{"note": "no thanks"}, nil)
	case actAccept:
		status, err = d.api.call(ctx, "platform", "POST", base+"/offers/offer-1/accept", nil, nil)
	case actWithdraw:
		status, err = d.api.call(ctx, "platform", "POST", base+"/withdraw", map[string]string{"note": "changed my mind again"}, nil)
	case actAppeal:
		status, err = d.api.call(ctx, "platform", "POST", base+"/appeal", map[string]string{"note": "please look again"}, nil)
	case actReject:
		status, err = d.api.call(ctx, "approver", "POST", base+"/reject", map[string]string{"reason": "the course was checked and works"}, nil)
	case actApprove, actApprove2:
		holder := "approver"
		if w.a == actApprove2 {
			holder = "approver2"
		}
		body := map[string]any{"note": "approved in the chaos run"}
		if w.percent > 0 {
			body["amount"] = c.amount * w.percent / 100
		}
		status, err = d.api.call(ctx, holder, "POST", base+"/approve", body, nil)
	case actFailAtTheBank:
		status, err = d.failAtTheBank(ctx, c)
	}
	d.count(string(w.a), status, err)
	switch {
	case err == nil:
		d.mu.Lock()
		c.did[w.a] = true
		if w.a == actAppeal {
			c.appealed = true
		}
		d.mu.Unlock()
	case status == http.StatusConflict:
		// The case moved on (or the action had been done): look again.
	default:
		d.retryLater(c)
	}
}

// failAtTheBank makes Stripe fail the case's succeeded refund, as a closed
// card would.
func (d *driver) failAtTheBank(ctx context.Context, c *caseRun) (int, error) {
	var full caseJSON
	if status, err := d.api.call(ctx, "admin", "GET", "/v1/refunds/"+c.id, nil, &full); err != nil {
		return status, err
	}
	if full.Payment == nil || full.Payment.ProviderRefundID == "" {
		return 0, errors.New("the refunded case names no Stripe refund")
	}
	if err := d.fake.settle(ctx, full.Payment.ProviderRefundID, "failed", "expired_or_canceled_card"); err != nil {
		return 0, err
	}
	return http.StatusOK, nil
}

func (d *driver) retryLater(c *caseRun) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c.failures++
	c.nextTry = time.Now().Add(min(time.Duration(c.failures)*2*time.Second, 20*time.Second))
}

func (d *driver) count(what string, status int, err error) {
	key := fmt.Sprintf("%s %d", what, status)
	if status == 0 && err != nil {
		key = what + " error"
	}
	d.mu.Lock()
	d.actions[key]++
	d.mu.Unlock()
}

// snapshot copies the cases' state for the checks and the report.
func (d *driver) snapshot() []caseRun {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]caseRun, len(d.cases))
	for i, c := range d.cases {
		out[i] = *c
	}
	return out
}

func (d *driver) actionCounts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int, len(d.actions))
	for k, v := range d.actions {
		out[k] = v
	}
	return out
}
