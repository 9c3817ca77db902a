package workflows

import (
	"net/url"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow"
)

// Task queues. Stripe calls run only on PaymentsTaskQueue, whose activity
// rate the Temporal server enforces across all workers (SPEC 4.6).
const (
	RefundsTaskQueue  = "refunds"
	PaymentsTaskQueue = "payments"
)

// RefundWorkflowID is the workflow id of refund case id.
func RefundWorkflowID(refundID string) string { return "refund/" + refundID }

// TicketWorkflowID is the workflow id of ticket id.
func TicketWorkflowID(ticketID string) string { return "ticket/" + ticketID }

// OutageWorkflowID is the workflow id of the remediation of outage id.
func OutageWorkflowID(outageID string) string { return "outage/" + outageID }

// RefundFailedWorkflowID is the workflow id that reverses a case's Stripe
// refund that failed after it succeeded.
func RefundFailedWorkflowID(refundID, providerRefundID string) string {
	return "refund/" + refundID + "/failed/" + providerRefundID
}

// ReconcileWorkflowID names a reconciliation run (the daily schedule
// appends the time to it).
func ReconcileWorkflowID(name string) string { return "reconcile/" + name }

// ReconcileScheduleID is the daily reconciliation's Temporal Schedule.
const ReconcileScheduleID = "reconcile-daily"

// Custom search attributes (SPEC 3). Ops filter cases in the Temporal UI
// with them; they hold ids, statuses and amounts only, never personal data.
var (
	RefundStatusKey    = temporal.NewSearchAttributeKeyKeyword("RefundStatus")
	RefundReasonKey    = temporal.NewSearchAttributeKeyKeyword("RefundReason")
	OrderIDKey         = temporal.NewSearchAttributeKeyKeyword("OrderId")
	CourseIDKey        = temporal.NewSearchAttributeKeyKeyword("CourseId")
	RefundAmountKey    = temporal.NewSearchAttributeKeyInt64("RefundAmount")
	CurrencyKey        = temporal.NewSearchAttributeKeyKeyword("Currency")
	EscalationLevelKey = temporal.NewSearchAttributeKeyInt64("EscalationLevel")
	SlaDeadlineKey     = temporal.NewSearchAttributeKeyTime("SlaDeadline")
	TicketTierKey      = temporal.NewSearchAttributeKeyKeyword("TicketTier")
)

// UIURL is the address of a workflow in the Temporal UI served at base.
func UIURL(base, namespace, workflowID string) string {
	return strings.TrimRight(base, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" + url.PathEscape(workflowID)
}

// RefundStartAttributes are the search attributes a refund case's
// workflow starts with (its status evaluating, level 1).
func RefundStartAttributes(reason, orderID, courseID, currency string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		RefundStatusKey.ValueSet(string(refundflow.StatusEvaluating)),
		RefundReasonKey.ValueSet(reason),
		OrderIDKey.ValueSet(orderID),
		CourseIDKey.ValueSet(courseID),
		CurrencyKey.ValueSet(currency),
		EscalationLevelKey.ValueSet(1),
	)
}

// SearchAttributes maps every custom search attribute to its type, for
// registering them on a namespace.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	keys := []temporal.SearchAttributeKey{
		RefundStatusKey, RefundReasonKey, OrderIDKey, CourseIDKey, RefundAmountKey,
		CurrencyKey, EscalationLevelKey, SlaDeadlineKey, TicketTierKey,
	}
	m := make(map[string]enumspb.IndexedValueType, len(keys))
	for _, k := range keys {
		m[k.GetName()] = k.GetValueType()
	}
	return m
}

// Refund case updates (answered at once, with validators), its query and
// the signal that carries Stripe's word about a refund.
const (
	AcceptOfferUpdate  = "accept-offer"
	DeclineOfferUpdate = "decline-offer"
	ApproveUpdate      = "approve"
	RejectUpdate       = "reject"
	AppealUpdate       = "appeal"
	WithdrawUpdate     = "withdraw"
	RefundStateQuery   = "state"
	StripeRefundSignal = "stripe-refund-updated"
)

// Bulk and scheduled work (SPEC 4.9): the outage remediation's cancel
// signal, and the Temporal Schedules created at worker start with the ids
// their workflows run under.
const (
	CancelRemediationSignal     = "cancel-remediation"
	RenewalRemindersScheduleID  = "renewal-reminders"
	RefundRateMonitorScheduleID = "refund-rate-monitor"
)

// Ticket updates (answered at once, with validators) and query (SPEC 4.8).
const (
	TicketMessageUpdate = "ticket-message"
	TicketStatusUpdate  = "ticket-status"
	TicketStateQuery    = "ticket-state"
)
