package outbox

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/refundflow/refundflow/postgres"
)

// Collector exports the outbox's state at every scrape, read from
// PostgreSQL, so that any process with a registry reports the whole
// outbox: how many messages wait or are dead per channel, and how long the
// oldest one waits (an alert fires when it is older than ten minutes).
type Collector struct {
	DB *postgres.DB
}

var (
	messagesDesc = prometheus.NewDesc("refundflow_outbox_messages",
		"Outbox messages waiting for delivery (pending) or given up on (dead), per channel.", []string{"channel", "status"}, nil)
	oldestDesc = prometheus.NewDesc("refundflow_outbox_oldest_pending_seconds",
		"Age of the oldest outbox message still waiting for delivery, per channel (0 when none waits).", []string{"channel"}, nil)
)

// Describe implements prometheus.Collector.
func (c Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- messagesDesc
	ch <- oldestDesc
}

// Collect implements prometheus.Collector. A database that does not answer
// in a few seconds leaves the scrape without these series (the scrape's
// own failure alerts), rather than holding it up.
func (c Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	counts, err := c.DB.OutboxCounts(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	n := map[[2]string]int64{}
	oldest := map[string]float64{}
	for _, cnt := range counts {
		n[[2]string{cnt.Channel, cnt.Status}] = cnt.N
		if cnt.Status == postgres.EmailPending && cnt.N > 0 {
			oldest[cnt.Channel] = max(now.Sub(cnt.Oldest).Seconds(), 0)
		}
	}
	for _, channel := range []string{"email", "webhook"} {
		for _, status := range []string{postgres.EmailPending, postgres.EmailDead} {
			ch <- prometheus.MustNewConstMetric(messagesDesc, prometheus.GaugeValue, float64(n[[2]string{channel, status}]), channel, status)
		}
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, oldest[channel], channel)
	}
}
