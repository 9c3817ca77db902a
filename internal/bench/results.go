package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"
)

// Results is one run's measurements, as written to results.json.
type Results struct {
	StartedAt time.Time     `json:"started_at"`
	Seconds   float64       `json:"seconds"`
	Host      Host          `json:"host"`
	Config    ConfigSummary `json:"config"`

	Floor    Throughput `json:"engine_floor"`
	Pipeline Pipeline   `json:"pipeline"`
	// ActionsPerCase and EventsPerCase are what a case of each path costs
	// on Temporal Cloud (billable actions) and in history events, counted
	// on the run's own histories: auto (the pipeline's cases), human
	// (approved by a person), offer_declined (an offer declined, then the
	// refund), remediation (a remediated case with its share of the
	// remediation workflow).
	ActionsPerCase Shapes      `json:"actions_per_case"`
	EventsPerCase  Shapes      `json:"events_per_case"`
	Reads          Reads       `json:"get_refund"`
	Policy         Policy      `json:"policy_evaluation"`
	Remediation    Remediation `json:"remediation"`
	Waiting        Waiting     `json:"waiting_for_approval"`
	FloorPostgres  Throughput  `json:"engine_floor_postgres"`

	// Bars are SPEC 7's performance bars against these numbers.
	Bars []Bar `json:"bars"`
}

// Host is the machine the run measured.
type Host struct {
	CPUs      int    `json:"cpus"`
	CPU       string `json:"cpu"`
	OS        string `json:"os"`
	GoVersion string `json:"go_version"`
	// LoadBefore and LoadAfter are /proc/loadavg's 1, 5 and 15 minutes.
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
}

// ConfigSummary is the run's sizes.
type ConfigSummary struct {
	Floor              Load    `json:"floor"`
	Pipeline           Load    `json:"pipeline"`
	Rounds             int     `json:"rounds"`
	PipelineStripeRate float64 `json:"pipeline_stripe_rate_per_second"`
	Shapes             int     `json:"cases_per_path"`
	FloorPostgres      Load    `json:"floor_postgres"`
	ReadRate           int     `json:"read_rate"`
	ReadSeconds        float64 `json:"read_seconds"`
	RemediationOrders  int     `json:"remediation_orders"`
	StripeRate         float64 `json:"stripe_rate_per_second"`
	StripeLimit        float64 `json:"stripe_limit_per_second"`
	WaitingCases       int     `json:"waiting_cases"`
	WaitingConcurrency int     `json:"waiting_concurrency"`
	SQLiteConns        int     `json:"sqlite_conns"`
}

// Throughput is a closed-loop run of workflows: each started and awaited
// to completion, Concurrency at a time.
type Throughput struct {
	Store       string  `json:"store"`
	Workflows   int     `json:"workflows"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	// Start to completion of each workflow.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	// CPU per workflow: the bench process (server, worker) and PostgreSQL.
	CPU CPUUse `json:"cpu_per_workflow"`
}

// Pipeline is auto-approved refunds through the API, each submitted and
// awaited to its workflow's completion, Concurrency at a time.
type Pipeline struct {
	Refunds     int     `json:"refunds"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	// RatioToFloor is PerSecond ÷ the engine floor's (bar ≥ 0.35).
	RatioToFloor float64 `json:"ratio_to_floor"`
	// Submit (the POST is sent) to refunded (the step the case's workflow
	// recorded once the money moved and was booked).
	RefundedP50Ms float64 `json:"submit_to_refunded_p50_ms"`
	RefundedP99Ms float64 `json:"submit_to_refunded_p99_ms"`
	// Submit to the workflow's completion (after its last notifications).
	CompletedP50Ms float64 `json:"submit_to_completed_p50_ms"`
	CompletedP99Ms float64 `json:"submit_to_completed_p99_ms"`
	// CPU per refund: the bench process (server, API, worker) and PostgreSQL.
	CPU CPUUse `json:"cpu_per_refund"`
}

// Shapes is one figure per path of a case.
type Shapes struct {
	Auto          float64 `json:"auto"`
	Human         float64 `json:"human"`
	OfferDeclined float64 `json:"offer_declined"`
	Remediation   float64 `json:"remediation"`
}

// Reads is GET /v1/refunds/{id} at a constant rate (vegeta).
type Reads struct {
	Rate         int     `json:"rate"`
	Seconds      float64 `json:"seconds"`
	Requests     int     `json:"requests"`
	SuccessRatio float64 `json:"success_ratio"`
	P50Ms        float64 `json:"p50_ms"`
	P99Ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
}

// Policy is policy.Evaluate over a few representative cases.
type Policy struct {
	Cases      []PolicyCase `json:"cases"`
	MaxNsPerOp float64      `json:"max_ns_per_op"`
}

// PolicyCase is one testing.Benchmark result.
type PolicyCase struct {
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"ns_per_op"`
	AllocsPerOp int64   `json:"allocs_per_op"`
}

// Remediation is an outage remediation in refund mode.
type Remediation struct {
	Orders      int     `json:"orders"`
	StripeRate  float64 `json:"stripe_rate_per_second"`
	StripeLimit float64 `json:"stripe_limit_per_second"`
	Refunded    int     `json:"refunded"`
	// Seconds from the remediate request to the last Stripe refund.
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"refunds_per_second"`
	// RatioToRate is PerSecond ÷ StripeRate (bar ≥ 0.9).
	RatioToRate float64 `json:"ratio_to_stripe_rate"`
	Stripe429s  int     `json:"stripe_429s"`
	// CompletedSeconds until the remediation reported itself completed.
	CompletedSeconds float64 `json:"completed_seconds"`
}

// Waiting is cases waiting for approval on a worker process of its own.
type Waiting struct {
	Cases int `json:"cases"`
	// Concurrency is how many cases were starting (submitted, not yet
	// waiting) at most at any time.
	Concurrency int `json:"concurrency"`
	// StartSeconds from the first submit until every case waits.
	StartSeconds float64 `json:"start_seconds"`
	PerSecond    float64 `json:"cases_per_second"`
	// WorkerRSSMiB once every case waits; WorkerPeakRSSMiB the process's
	// high-water mark (VmHWM).
	WorkerRSSMiB     float64 `json:"worker_rss_mib"`
	WorkerPeakRSSMiB float64 `json:"worker_peak_rss_mib"`
}

// Bar is one of SPEC 7's bars.
type Bar struct {
	Name   string  `json:"name"`
	Target string  `json:"target"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Met    bool    `json:"met"`
	// NotJudged says why the bar was not judged: the run was smaller than
	// the bar's load (a -quick run); Met is then false.
	NotJudged string `json:"not_judged,omitempty"`
}

// finish derives the ratios and judges the bars.
func (r *Results) finish() {
	r.Seconds = time.Since(r.StartedAt).Seconds()
	if r.Floor.PerSecond > 0 {
		r.Pipeline.RatioToFloor = r.Pipeline.PerSecond / r.Floor.PerSecond
	}
	a := r.ActionsPerCase
	r.Bars = []Bar{
		{Name: "pipeline ÷ engine floor", Target: "≥ 0.35", Value: r.Pipeline.RatioToFloor, Met: r.Pipeline.RatioToFloor >= 0.35},
		{Name: "actions per auto-approved case", Target: "≤ 6", Value: a.Auto, Met: a.Auto > 0 && a.Auto <= 6},
		{Name: "actions per human-approved case", Target: "≤ 10", Value: a.Human, Met: a.Human > 0 && a.Human <= 10},
		{Name: "actions per case with an offer declined", Target: "≤ 10", Value: a.OfferDeclined, Met: a.OfferDeclined > 0 && a.OfferDeclined <= 10},
		{Name: "GET /v1/refunds/{id} p99 at 500 req/s", Target: "< 10 ms", Value: r.Reads.P99Ms, Unit: "ms",
			Met: r.Reads.P99Ms < 10 && r.Reads.SuccessRatio == 1},
		{Name: "policy evaluation (slowest case)", Target: "< 10 µs", Value: r.Policy.MaxNsPerOp / 1000, Unit: "µs", Met: r.Policy.MaxNsPerOp < 10_000},
		{Name: "remediation ÷ Stripe rate", Target: "≥ 0.9", Value: r.Remediation.RatioToRate, Met: r.Remediation.RatioToRate >= 0.9},
		{Name: "remediation Stripe 429s", Target: "0", Value: float64(r.Remediation.Stripe429s), Met: r.Remediation.Stripe429s == 0},
		{Name: "worker RSS, 10 000 cases waiting", Target: "< 1024 MiB", Value: r.Waiting.WorkerPeakRSSMiB, Unit: "MiB",
			Met: r.Waiting.WorkerRSSMiB < 1024 && r.Waiting.WorkerPeakRSSMiB < 1024},
	}
	judged := func(name, why string) {
		for i := range r.Bars {
			if r.Bars[i].Name == name {
				r.Bars[i].NotJudged, r.Bars[i].Met = why, false
			}
		}
	}
	if r.Reads.Rate < 500 {
		judged("GET /v1/refunds/{id} p99 at 500 req/s", fmt.Sprintf("read at %d req/s", r.Reads.Rate))
	}
	if r.Waiting.Cases < 10_000 {
		judged("worker RSS, 10 000 cases waiting", fmt.Sprintf("%d cases waited", r.Waiting.Cases))
	}
}

// WriteJSON writes the results to path.
func (r *Results) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// PrintTable prints the measurements and the bars.
func (r *Results) PrintTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "refundflow bench, %s, %d CPUs (%s), load %s → %s, %.0f s\n\n",
		r.StartedAt.Format(time.RFC3339), r.Host.CPUs, r.Host.CPU, r.Host.LoadBefore, r.Host.LoadAfter, r.Seconds)
	fmt.Fprintln(tw, "measurement\tvalue\tdetail")
	row := func(name, value, detail string) { fmt.Fprintf(tw, "%s\t%s\t%s\n", name, value, detail) }
	f := r.Floor
	row("engine floor (SQLite WAL)", fmt.Sprintf("%.1f wf/s", f.PerSecond),
		fmt.Sprintf("%d workflows without an activity, %d at a time; p50 %.0f ms, p99 %.0f ms; %.0f CPU ms/wf, %.1f cores busy",
			f.Workflows, f.Concurrency, f.P50Ms, f.P99Ms, f.CPU.MsPerItem, f.CPU.CoresBusy))
	p := r.Pipeline
	row("pipeline (API → refunded)", fmt.Sprintf("%.1f refunds/s", p.PerSecond),
		fmt.Sprintf("%d auto-approved refunds, %d at a time; ratio to the floor %.2f; %.0f CPU ms/refund (PostgreSQL %.0f), %.1f cores busy",
			p.Refunds, p.Concurrency, p.RatioToFloor, p.CPU.MsPerItem, p.CPU.PostgresMsPerItem, p.CPU.CoresBusy))
	row("  submit → refunded", fmt.Sprintf("p50 %.0f ms", p.RefundedP50Ms), fmt.Sprintf("p99 %.0f ms", p.RefundedP99Ms))
	row("  submit → workflow completed", fmt.Sprintf("p50 %.0f ms", p.CompletedP50Ms), fmt.Sprintf("p99 %.0f ms", p.CompletedP99Ms))
	a, ev := r.ActionsPerCase, r.EventsPerCase
	row("actions per case (Temporal Cloud)", fmt.Sprintf("auto %.1f", a.Auto),
		fmt.Sprintf("human %.1f, offer declined %.1f, remediation %.2f; history events: auto %.0f, human %.0f, offer declined %.0f, remediation %.1f",
			a.Human, a.OfferDeclined, a.Remediation, ev.Auto, ev.Human, ev.OfferDeclined, ev.Remediation))
	rd := r.Reads
	row("GET /v1/refunds/{id}", fmt.Sprintf("p99 %.2f ms", rd.P99Ms),
		fmt.Sprintf("p50 %.2f ms, max %.1f ms; %d req/s for %.0f s, %.1f%% OK", rd.P50Ms, rd.MaxMs, rd.Rate, rd.Seconds, rd.SuccessRatio*100))
	for _, c := range r.Policy.Cases {
		row("policy evaluation: "+c.Name, fmt.Sprintf("%.2f µs/op", c.NsPerOp/1000), fmt.Sprintf("%d allocs/op", c.AllocsPerOp))
	}
	m := r.Remediation
	row("outage remediation", fmt.Sprintf("%.1f refunds/s", m.PerSecond),
		fmt.Sprintf("%d orders; %.2f of STRIPE_RATE_PER_SECOND=%g; %d Stripe 429s (fake limit %g/s); completed after %.0f s",
			m.Refunded, m.RatioToRate, m.StripeRate, m.Stripe429s, m.StripeLimit, m.CompletedSeconds))
	wt := r.Waiting
	row("cases waiting for approval", fmt.Sprintf("%d", wt.Cases),
		fmt.Sprintf("started in %.0f s (%.1f/s), at most %d starting at a time", wt.StartSeconds, wt.PerSecond, wt.Concurrency))
	row("  worker RSS", fmt.Sprintf("%.0f MiB", wt.WorkerRSSMiB), fmt.Sprintf("peak %.0f MiB (refundflow worker, own process)", wt.WorkerPeakRSSMiB))
	pg := r.FloorPostgres
	ratio := 0.0
	if f.PerSecond > 0 {
		ratio = pg.PerSecond / f.PerSecond
	}
	row("engine floor (PostgreSQL)", fmt.Sprintf("%.1f wf/s", pg.PerSecond),
		fmt.Sprintf("%d workflows, %d at a time; p50 %.0f ms, p99 %.0f ms; %.2f× SQLite; %.0f CPU ms/wf (PostgreSQL %.0f), %.1f cores busy",
			pg.Workflows, pg.Concurrency, pg.P50Ms, pg.P99Ms, ratio, pg.CPU.MsPerItem, pg.CPU.PostgresMsPerItem, pg.CPU.CoresBusy))
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "bar (SPEC 7)\ttarget\tmeasured\t")
	for _, bar := range r.Bars {
		verdict := "MET"
		switch {
		case bar.NotJudged != "":
			verdict = "not judged: only " + bar.NotJudged
		case !bar.Met:
			verdict = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", bar.Name, bar.Target, formatValue(bar), verdict)
	}
	tw.Flush()
}

func formatValue(b Bar) string {
	switch b.Unit {
	case "":
		if b.Value == float64(int64(b.Value)) {
			return fmt.Sprintf("%.0f", b.Value)
		}
		return fmt.Sprintf("%.2f", b.Value)
	case "MiB":
		return fmt.Sprintf("%.0f MiB", b.Value)
	default:
		return fmt.Sprintf("%.2f %s", b.Value, b.Unit)
	}
}
