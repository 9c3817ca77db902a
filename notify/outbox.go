package notify

import "time"

// Outbox is what one step of a case or ticket sends, rendered from what
// was true at that step. It is written in the step's own transaction; the
// workers deliver the emails and events apart (package outbox), and the
// in-app messages and staff notes are in place as soon as it commits.
type Outbox struct {
	// RefundID and TicketID say what the messages are about.
	RefundID string
	TicketID string

	Emails []Email
	Events []Event
	InApp  []InAppMessage
	Staff  []StaffNote
}

// Empty reports whether the step sends nothing.
func (o Outbox) Empty() bool {
	return len(o.Emails) == 0 && len(o.Events) == 0 && len(o.InApp) == 0 && len(o.Staff) == 0
}

// Add appends what b sends to o.
func (o *Outbox) Add(b Outbox) {
	o.Emails = append(o.Emails, b.Emails...)
	o.Events = append(o.Events, b.Events...)
	o.InApp = append(o.InApp, b.InApp...)
	o.Staff = append(o.Staff, b.Staff...)
}

// InAppMessage is one message in a learner's in-app list: what the email
// also said.
type InAppMessage struct {
	ID        string
	LearnerID string
	Kind      string
	Locale    string
	Subject   string
	Body      string
	CreatedAt time.Time
}

// StaffNote is a note for a group of staff, shown in the console.
type StaffNote struct {
	ID       string
	Audience string // approver, agent, admin, finance
	Kind     string
	Subject  string
	Body     string
}
