package refundflow

// Who may do which work (SPEC 5). The API's routes and the console's pages
// check these same lists, so the console can show or do nothing the API
// would refuse the same key.
var (
	// ReadCases: list refund cases and read one (the console's queue and
	// case pages).
	ReadCases = []Role{RolePlatform, RoleAgent, RoleApprover, RoleAdmin}
	// DecideCases: approve or reject a case.
	DecideCases = []Role{RoleApprover, RoleAdmin}
	// WorkTickets: open, read, answer and move tickets. The platform does
	// so for its learners.
	WorkTickets = []Role{RolePlatform, RoleAgent}
	// ManageOutages: declare outages, start and cancel their remediation.
	ManageOutages = []Role{RoleAdmin}
	// ReadReports: the finance and ops reports and their CSV exports.
	ReadReports = []Role{RoleApprover, RoleAdmin}
	// RunReconciliations: start a reconciliation with Stripe now.
	RunReconciliations = []Role{RoleAdmin}
	// ReadEvents: the event log, every event the platform's webhooks
	// carry.
	ReadEvents = []Role{RolePlatform, RoleAdmin}
	// ReadWebhookDeliveries: the delivery log of the platform's webhooks.
	// A stack has one platform, so its key sees every delivery.
	ReadWebhookDeliveries = []Role{RolePlatform, RoleAdmin}
	// RedeliverWebhooks: send webhook deliveries again.
	RedeliverWebhooks = []Role{RoleAdmin}
)

// LearnerVia is the learner acting through the platform's key k.
func LearnerVia(k *APIKey) Actor {
	return Actor{Kind: "learner", ID: k.ID, Name: "via " + k.Name}
}
