package notify

import "fmt"

// Notice is a message a step of a case or ticket causes: to the learner
// (an email in their language and the in-app list), to the platform (a
// signed webhook), or to a group of staff (the console and, where a key
// has an address, email). The step that causes it renders it, from what
// is true at that step.
type Notice struct {
	To Recipient
	// Kind is the learner message kind (a MessageKind), the platform event
	// type (an EventType) or the staff notice kind.
	Kind string
	// Audience is the staff group: approver, agent, admin, finance.
	Audience string
}

// Recipient says who a notice is for.
type Recipient string

const (
	Learner  Recipient = "learner"
	Platform Recipient = "platform"
	Staff    Recipient = "staff"
)

// ToLearner is the notice of a learner message.
func ToLearner(kind MessageKind) Notice { return Notice{To: Learner, Kind: string(kind)} }

// ToPlatform is the notice of a platform event.
func ToPlatform(t EventType) Notice { return Notice{To: Platform, Kind: string(t)} }

// ToStaff is the notice of kind to a staff audience.
func ToStaff(audience, kind string) Notice { return Notice{To: Staff, Kind: kind, Audience: audience} }

func (n Notice) String() string { return string(n.To) + ":" + n.Kind }

// NoticeID is the id of a learner or staff notice about step seq of case
// (or ticket) id: the email's Message-ID and the in-app message's id, the
// same on every retry. The zero-padded step keeps a case's notices in
// order when sorted by id.
func NoticeID(id string, seq int, kind string) string {
	return fmt.Sprintf("%s/%04d/%s", id, seq, kind)
}

// StaffNoticeID is the id of the note to a group of staff (audience)
// about step seq of case (or ticket) id: one step may tell two groups.
func StaffNoticeID(id string, seq int, audience, kind string) string {
	return NoticeID(id, seq, kind+"-"+audience)
}

// EventID is the id of the platform event of type t about step seq of
// case (or ticket) id: the webhook's event id, which the platform
// deduplicates on.
func EventID(id string, seq int, t EventType) string {
	return fmt.Sprintf("evt_%s_%d_%s", id, seq, t)
}
