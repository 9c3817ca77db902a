package refund

import (
	"time"

	"github.com/refundflow/refundflow"
)

// TimelineEntry is one step of a case: who, when, what.
type TimelineEntry struct {
	Seq    int                     `json:"seq"`
	At     time.Time               `json:"at"`
	Actor  refundflow.Actor        `json:"actor"`
	Event  string                  `json:"event"`
	Status refundflow.RefundStatus `json:"status"`
	Detail map[string]any          `json:"detail"`
}
