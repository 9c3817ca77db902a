package refundflow

import "testing"

func TestTicketStateMachine(t *testing.T) {
	allowed := map[[2]TicketStatus]bool{
		{TicketOpen, TicketWaitingOnCustomer}:     true,
		{TicketOpen, TicketResolved}:              true,
		{TicketWaitingOnCustomer, TicketOpen}:     true,
		{TicketWaitingOnCustomer, TicketResolved}: true,
		{TicketResolved, TicketOpen}:              true, // reopen
		{TicketResolved, TicketClosed}:            true,
	}
	for _, from := range TicketStatuses {
		for _, to := range TicketStatuses {
			if got := from.CanBecome(to); got != allowed[[2]TicketStatus{from, to}] {
				t.Errorf("%s → %s allowed = %v", from, to, got)
			}
		}
	}
	if TicketStatus("pending").Valid() || TicketStatus("pending").CanBecome(TicketOpen) {
		t.Error("an unknown status is neither valid nor movable")
	}
}
