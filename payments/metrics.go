package payments

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// countResponses counts every answer Stripe gives, by HTTP status, as
// refundflow_stripe_responses_total{code} — stripe-go's own retries
// included. A 429 means the payments queue's rate is above what the Stripe
// account has left (something else shares it), and stripe-go does not
// retry rate-limit 429s: ops are alerted on them (deploy/prometheus).
func countResponses(reg prometheus.Registerer, next http.RoundTripper) http.RoundTripper {
	responses := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "refundflow_stripe_responses_total",
		Help: "Responses from the Stripe API, by HTTP status code.",
	}, []string{"code"})
	// Every client of a process counts into the same series.
	if err := reg.Register(responses); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			panic(err)
		}
		responses = already.ExistingCollector.(*prometheus.CounterVec)
	}
	// Present from the start at 0, so that a rule's increase() counts the
	// first 429 too.
	responses.WithLabelValues("429")
	return promhttp.InstrumentRoundTripperCounter(responses, next)
}
