package stripefake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// The admin API: the Server's methods as JSON over HTTP under /_fake/, for
// driving a fake that runs in another process (cmd/stripefake). It needs no
// API key; the fake listens on loopback.
func (s *Server) adminRoutes() {
	s.mux.HandleFunc("POST /_fake/payment_intents", func(w http.ResponseWriter, r *http.Request) {
		var spec PaymentSpec
		if !decode(w, r, &spec) {
			return
		}
		p, err := s.CreatePayment(spec)
		reply(w, http.StatusCreated, p, err)
	})
	s.mux.HandleFunc("POST /_fake/payment_intents/{id}/dispute", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Disputed bool `json:"disputed"`
		}
		if !decode(w, r, &body) {
			return
		}
		reply(w, http.StatusOK, body, s.SetDisputed(r.PathValue("id"), body.Disputed))
	})
	s.mux.HandleFunc("PUT /_fake/payment_intents/{id}/behaviour", func(w http.ResponseWriter, r *http.Request) {
		var b Behaviour
		if !decode(w, r, &b) {
			return
		}
		reply(w, http.StatusOK, b, s.SetBehaviour(r.PathValue("id"), b))
	})
	s.mux.HandleFunc("PUT /_fake/behaviour", func(w http.ResponseWriter, r *http.Request) {
		var b Behaviour
		if !decode(w, r, &b) {
			return
		}
		reply(w, http.StatusOK, b, s.SetDefaultBehaviour(b))
	})
	s.mux.HandleFunc("POST /_fake/refunds/{id}/settle", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status        stripe.RefundStatus        `json:"status"`
			FailureReason stripe.RefundFailureReason `json:"failure_reason"`
		}
		if !decode(w, r, &body) {
			return
		}
		reply(w, http.StatusOK, body, s.SettleRefund(r.PathValue("id"), body.Status, body.FailureReason))
	})
	s.mux.HandleFunc("GET /_fake/faults", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, nonNil(s.Faults()), nil)
	})
	s.mux.HandleFunc("POST /_fake/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if !decode(w, r, &f) {
			return
		}
		reply(w, http.StatusCreated, nonNil(s.Faults()), s.InjectFault(f))
	})
	s.mux.HandleFunc("DELETE /_fake/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		reply(w, http.StatusOK, []Fault{}, nil)
	})
	s.mux.HandleFunc("PUT /_fake/rate_limit", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			PerSecond float64 `json:"per_second"`
			Burst     int     `json:"burst"`
		}
		if !decode(w, r, &body) {
			return
		}
		s.SetRateLimit(body.PerSecond, body.Burst)
		reply(w, http.StatusOK, body, nil)
	})
	s.mux.HandleFunc("GET /_fake/clock", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, clockJSON{Now: s.Now()}, nil)
	})
	s.mux.HandleFunc("POST /_fake/clock/advance", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			By durationJSON `json:"by"`
		}
		if !decode(w, r, &body) {
			return
		}
		if body.By < 0 {
			reply(w, 0, nil, fmt.Errorf("the clock only moves forward: %w", ErrInvalid))
			return
		}
		s.Advance(time.Duration(body.By))
		reply(w, http.StatusOK, clockJSON{Now: s.Now()}, nil)
	})
	s.mux.HandleFunc("GET /_fake/state", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, s.Snapshot(), nil)
	})
	s.mux.HandleFunc("PUT /_fake/webhooks", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			URL    string `json:"url"`
			Secret string `json:"secret"`
		}
		if !decode(w, r, &body) {
			return
		}
		s.ConfigureWebhooks(body.URL, body.Secret)
		reply(w, http.StatusOK, object{"url": body.URL}, nil)
	})
	s.mux.HandleFunc("PUT /_fake/webhooks/mode", func(w http.ResponseWriter, r *http.Request) {
		var m WebhookMode
		if !decode(w, r, &m) {
			return
		}
		s.SetWebhookMode(m)
		reply(w, http.StatusOK, m, nil)
	})
	s.mux.HandleFunc("POST /_fake/webhooks/flush", func(w http.ResponseWriter, r *http.Request) {
		s.FlushWebhooks()
		reply(w, http.StatusOK, object{}, nil)
	})
	s.mux.HandleFunc("GET /_fake/events", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, nonNil(s.Events()), nil)
	})
	s.mux.HandleFunc("POST /_fake/events/{id}/resend", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusAccepted, object{"id": r.PathValue("id")}, s.ResendEvent(r.PathValue("id")))
	})
	s.mux.HandleFunc("/_fake/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 0, nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, ErrNotFound))
	})
}

type clockJSON struct {
	Now time.Time `json:"now"`
}

// decode reads a JSON body strictly (unknown fields are a mistake worth
// hearing about in a chaos script) and answers 400 itself when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		reply(w, 0, nil, fmt.Errorf("request body: %v: %w", err, ErrInvalid))
		return false
	}
	return true
}

// reply answers v with status, or err with the status adminStatus maps it to.
func reply(w http.ResponseWriter, status int, v any, err error) {
	if err != nil {
		writeJSON(w, adminStatus(err), object{"error": object{"message": err.Error()}})
		return
	}
	writeJSON(w, status, v)
}

// adminStatus is the one place admin errors become HTTP statuses.
func adminStatus(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrExists):
		return http.StatusConflict
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
