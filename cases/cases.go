// Package cases is refundflow's application layer: the commands and the
// reports that the API and the console both offer — approve and reject a
// case, remediate an outage and cancel it, start a reconciliation, the
// money, courses and SLA reports. It is the one place that combines the
// read model in PostgreSQL with the workflows in Temporal for a command;
// package api and package console are thin adapters over it (HTTP and
// server-rendered pages), each with its own validation of its input.
package cases

import (
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/config"
	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/workflows"
)

// Service holds what every command and report needs.
type Service struct {
	DB       *postgres.DB
	Temporal client.Client
	Config   config.Config
	Logger   *slog.Logger
	// Now is the clock (tests move it).
	Now func() time.Time

	nextReconciliation nextReconciliation
}

// WorkflowURL opens a workflow (its latest run) in the Temporal UI.
func (s *Service) WorkflowURL(workflowID string) string {
	return workflows.UIURL(s.Config.TemporalUIURL, s.Config.TemporalNamespace, workflowID)
}
