package console

import (
	"net/http"
	"net/url"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/postgres"
)

// deliveriesShown is how many failing and how many dead deliveries the
// webhooks page lists; triesShown, how many of a delivery's latest tries.
const (
	deliveriesShown = 100
	triesShown      = 5
)

// sinceLayout is a datetime-local input's value.
const sinceLayout = "2006-01-02T15:04"

type webhooksPage struct {
	Sections []deliverySection
	// Since is the "redeliver all failed since" form's default: a day
	// ago, in the page's time zone (Zone).
	Since, Zone string
	Flash       *flash
}

// deliverySection lists the deliveries of one status under a heading
// (a catalog key).
type deliverySection struct {
	Status, Title string
	Rows          []deliveryRow
}

// deliveryRow is a delivery with its latest tries.
type deliveryRow struct {
	*postgres.Delivery
	Tries        []postgres.DeliveryTry
	EarlierTries int
}

func newDeliveryRow(d *postgres.Delivery) deliveryRow {
	shown := d.Tries
	if n := len(shown); n > triesShown {
		shown = shown[n-triesShown:]
	}
	return deliveryRow{Delivery: d, Tries: shown, EarlierTries: len(d.Tries) - len(shown)}
}

// webhooks lists the platform webhooks' deliveries that failed — failing
// ones (retried with backoff) and dead ones — with their latest tries, for
// an admin to send again.
func (s *Server) webhooks(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	zone := pageZone(r)
	page := webhooksPage{
		Since: s.Now().Add(-24 * time.Hour).In(zone).Format(sinceLayout), Zone: zone.String(),
		Flash: readFlash(language(r), r.URL.Query(), "", webhooksDone),
		Sections: []deliverySection{
			{Status: postgres.EventFailing, Title: "webhooks_failing"},
			{Status: postgres.EventDead, Title: "webhooks_dead"},
		},
	}
	for i, sec := range page.Sections {
		list, err := s.DB.ListDeliveries(ctx, postgres.DeliveryFilter{Status: sec.Status, Limit: deliveriesShown})
		if err != nil {
			s.failPage(w, r, err)
			return
		}
		for _, d := range list {
			page.Sections[i].Rows = append(page.Sections[i].Rows, newDeliveryRow(d))
		}
	}
	s.render(w, r, sess, http.StatusOK, "webhooks", page)
}

// redeliver sends one delivery again (the operation the API's
// POST /v1/webhook-deliveries/{id}/redeliver calls too).
func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, _ *session) {
	_, err := s.DB.Redeliver(r.Context(), r.PathValue("id"), s.Now())
	s.redirectAfterPost(w, r, "/console/webhooks", url.Values{}, "redelivered", err)
}

// redeliverFailed sends again every delivery that failed of the events
// since the form's time, read in the page's time zone.
func (s *Server) redeliverFailed(w http.ResponseWriter, r *http.Request, _ *session) {
	since, err := time.ParseInLocation(sinceLayout, r.PostFormValue("since"), pageZone(r))
	if err != nil {
		s.redirectAfterPost(w, r, "/console/webhooks", url.Values{}, "",
			refundflow.FieldError("since", "invalid_since", "give a date and time such as 2026-03-05T10:00"))
		return
	}
	n, err := s.DB.RedeliverFailedSince(r.Context(), since, s.Now())
	done := "redelivered_failed"
	if n == 0 {
		done = "nothing_to_redeliver"
	}
	s.redirectAfterPost(w, r, "/console/webhooks", url.Values{}, done, err)
}

// pageZone is the time zone the page shows times in (view.When).
func pageZone(r *http.Request) *time.Location {
	if language(r) == "zh-CN" {
		return shanghai
	}
	return time.UTC
}
