package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/sla"
)

// metricsTimeout bounds the queries of one scrape.
const metricsTimeout = 5 * time.Second

// Metrics reads, at every scrape, the counts ops alert on
// (deploy/prometheus): refund cases by status, payment attempts by status
// and attempt number, open tickets past an SLA target by tier, and cases
// waiting for approval past their deadline. They are counts of what the
// read model holds, so they are the same in every process that reports
// them; register it with one process of a kind (the API).
type Metrics struct {
	db                               *DB
	refunds, attempts                *prometheus.Desc
	breachedTickets, breachedApprove *prometheus.Desc
}

// Metrics returns the collector.
func (db *DB) Metrics() *Metrics {
	return &Metrics{
		db: db,
		refunds: prometheus.NewDesc("refundflow_refunds",
			"Refund cases by status.", []string{"status"}, nil),
		attempts: prometheus.NewDesc("refundflow_payment_attempts",
			"Attempts at moving a case's money through Stripe, by status and attempt number (2 and up: retries with a new key).",
			[]string{"status", "attempt"}, nil),
		breachedTickets: prometheus.NewDesc("refundflow_tickets_breached",
			"Open tickets that have missed an SLA target, by tier.", []string{"tier"}, nil),
		breachedApprove: prometheus.NewDesc("refundflow_refund_approvals_breached",
			"Refund cases waiting for approval past their approval deadline.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.refunds, m.attempts, m.breachedTickets, m.breachedApprove} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A count PostgreSQL does not
// give is reported as an error of the scrape, and the others still are.
// Statuses and tiers without any case are 0, so that a rule sees the
// first one arrive.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	q := m.db.q

	if rows, err := q.MetricsRefundsByStatus(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(m.refunds, err)
	} else {
		counts := map[string]int64{}
		for _, r := range rows {
			counts[r.Status] = r.Cases
		}
		gaugeEach(ch, m.refunds, counts, refundflow.RefundStatuses)
	}

	if rows, err := q.MetricsPaymentAttempts(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(m.attempts, err)
	} else {
		for _, r := range rows {
			ch <- prometheus.MustNewConstMetric(m.attempts, prometheus.GaugeValue, float64(r.Attempts), r.Status, strconv.Itoa(int(r.Attempt)))
		}
	}

	if rows, err := q.MetricsBreachedTickets(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(m.breachedTickets, err)
	} else {
		counts := map[string]int64{}
		for _, r := range rows {
			counts[r.Tier] = r.Tickets
		}
		gaugeEach(ch, m.breachedTickets, counts, sla.Tiers)
	}

	if n, err := q.MetricsBreachedApprovals(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(m.breachedApprove, err)
	} else {
		ch <- prometheus.MustNewConstMetric(m.breachedApprove, prometheus.GaugeValue, float64(n))
	}
}

// gaugeEach reports desc's count for every value of its one label, 0 for
// those counts does not have.
func gaugeEach[V ~string](ch chan<- prometheus.Metric, desc *prometheus.Desc, counts map[string]int64, values []V) {
	for _, v := range values {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(counts[string(v)]), string(v))
	}
}
