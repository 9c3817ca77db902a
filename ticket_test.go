package refundflow

import (
	"slices"
	"testing"
)

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

// The platform writes for the learner: it may only write as the customer
// and only take a ticket back to open (reopen it, or answer one waiting on
// the learner). Waiting on the customer, resolved and closed are the
// desk's judgement — a learner's "resolved" would meet the agents' first
// response and resolution targets with nobody having answered.
func TestThePlatformActsAsTheLearnerOnTickets(t *testing.T) {
	writes := map[Role][]MessageAuthor{
		RolePlatform: {AuthorCustomer},
		RoleAgent:    {AuthorAgent, AuthorCustomer}, // an agent may record what a learner said on the phone
	}
	sets := map[Role][]TicketStatus{
		RolePlatform: {TicketOpen},
		RoleAgent:    TicketStatuses,
	}
	for _, role := range Roles {
		for _, a := range []MessageAuthor{AuthorAgent, AuthorCustomer} {
			if got, want := a.WritableBy(role), slices.Contains(writes[role], a); got != want {
				t.Errorf("a %s key writes as %s: %v, want %v", role, a, got, want)
			}
		}
		for _, s := range TicketStatuses {
			if got, want := s.SettableBy(role), slices.Contains(sets[role], s); got != want {
				t.Errorf("a %s key sets %s: %v, want %v", role, s, got, want)
			}
		}
	}
}
