package notify

import (
	"embed"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/money"
)

// MessageKind names a learner message; each has one template per language
// in templates/<locale>/<kind>.tmpl.
type MessageKind string

// Refund case messages (SPEC 4.5 step 5).
const (
	KindReceived       MessageKind = "received"        // we have the request; what happens next
	KindOffer          MessageKind = "offer"           // retention offers and the deadline to answer
	KindApproved       MessageKind = "approved"        // the refund was approved; the money is being sent
	KindRefunded       MessageKind = "refunded"        // the money was sent; arrival window and reference
	KindRejected       MessageKind = "rejected"        // why, and how to appeal once (二次申诉) until when
	KindRejectedFinal  MessageKind = "rejected_final"  // the appeal was decided: still no, and final
	KindAppealReceived MessageKind = "appeal_received" // the appeal is with a higher-level reviewer
	KindWithdrawn      MessageKind = "withdrawn"       // the learner withdrew; nothing changes
	KindRetained       MessageKind = "retained"        // the learner took an offer instead of the money
	KindFailed         MessageKind = "failed"          // the money could not be sent; finance is on it
)

// Ticket and membership messages (SPEC 4.8, 4.9).
const (
	KindTicketReceived  MessageKind = "ticket_received"  // the ticket exists; when to expect an answer
	KindTicketReply     MessageKind = "ticket_reply"     // an agent answered
	KindTicketResolved  MessageKind = "ticket_resolved"  // resolved; how was it (CSAT 1–5)
	KindRenewalReminder MessageKind = "renewal_reminder" // renews on a date for an amount; how to cancel
)

// MessageKinds lists every kind, in the order a case meets them.
var MessageKinds = []MessageKind{
	KindReceived, KindOffer, KindApproved, KindRefunded, KindRejected, KindRejectedFinal, KindAppealReceived,
	KindWithdrawn, KindRetained, KindFailed,
	KindTicketReceived, KindTicketReply, KindTicketResolved, KindRenewalReminder,
}

// Localized is a text the caller holds in both languages, such as a policy
// decision's explanation (policy.Explanation converts to it directly).
type Localized struct {
	EN string
	ZH string
}

// in picks the reader's language, falling back to the other one: a reason
// in the wrong language still beats a message that cannot be sent.
func (t Localized) in(l refundflow.Locale) string {
	if (l == refundflow.LocaleZhCN && t.ZH != "") || t.EN == "" {
		return t.ZH
	}
	return t.EN
}

// MessageData is everything any message may say. Each template uses only
// some of it; leaving out a field the chosen template uses is an error from
// Render, so a learner never reads a blank where a date should be. The
// fields marked optional may always be left empty: the templates then say
// something sensible without them.
type MessageData struct {
	LearnerName  string // optional: the greeting uses it when known
	RefundID     string
	OrderID      string
	ProductTitle string

	// Amount is in minor units of Currency: the refund, or the renewal charge.
	Amount   int64
	Currency money.Currency

	// Explanation says why: the policy decision's explanation, or the
	// approver's reason for a rejection.
	Explanation Localized

	// Offers are the retention offers on the table (offer), ChosenOffer the
	// one the learner took (retained). Title and Detail are shown as given,
	// so they must already be in the learner's language.
	Offers      []refundflow.Offer
	ChosenOffer refundflow.Offer
	// Deadline is when the offers expire.
	Deadline time.Time

	// ArrivalEarliest and ArrivalLatest are the days the money is expected
	// to arrive (policy.Arrival). They are dates, shown as given.
	ArrivalEarliest calendar.Date
	ArrivalLatest   calendar.Date
	// ProviderRefundID is the payment provider's refund reference (Stripe re_…),
	// what a bank asks for when tracing a refund.
	ProviderRefundID string

	// AppealUntil is the last moment a rejected learner may appeal.
	AppealUntil time.Time
	// NextUpdateBy (optional) is when the learner will hear from us next:
	// the approval or first-response SLA deadline.
	NextUpdateBy time.Time
	// CaseURL (optional) is where the learner sees the case in the
	// platform's app and answers offers or appeals.
	CaseURL string

	TicketID      string
	TicketSubject string
	ReplyBody     string // an agent's reply, shown as written
	SurveyURL     string // optional: without it, the learner is asked to reply with 1–5

	// RenewsAt is when a membership renews; ManageURL (optional) is where
	// automatic renewal is turned off.
	RenewsAt  time.Time
	ManageURL string

	// Location is the zone instants are shown in; nil means Asia/Shanghai.
	Location *time.Location
}

// Message is a rendered learner message. The same text goes by email and
// into the learner's in-app message list.
type Message struct {
	Kind    MessageKind
	Locale  refundflow.Locale // the language actually used (after fallback)
	Subject string
	Text    string
	HTML    string
}

// Email addresses m to one recipient. messageID must be stable for this
// message (for example "refund/<id>/refunded"), so that a retried send
// carries the same Message-ID.
func (m Message) Email(to, messageID string) Email {
	return Email{To: to, Subject: m.Subject, Text: m.Text, HTML: m.HTML, MessageID: messageID}
}

// Render writes the message kind for a learner who reads locale (any
// unknown locale gets English).
func Render(kind MessageKind, locale refundflow.Locale, d MessageData) (Message, error) {
	l := resolveLocale(locale)
	t, ok := templates[l][kind]
	if !ok {
		return Message{}, fmt.Errorf("notify: unknown message kind %q", kind)
	}
	v := view(l, d)
	var subject, text, html strings.Builder
	if err := t.text.ExecuteTemplate(&subject, "subject", v); err != nil {
		return Message{}, renderError(kind, l, err)
	}
	if err := t.text.ExecuteTemplate(&text, "body", v); err != nil {
		return Message{}, renderError(kind, l, err)
	}
	if err := t.html.ExecuteTemplate(&html, "body", v); err != nil {
		return Message{}, renderError(kind, l, err)
	}
	m := Message{
		Kind:   kind,
		Locale: l,
		// A subject is one header line whatever the data holds.
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    tidy(text.String()),
	}
	var page strings.Builder
	err := layout.Execute(&page, struct {
		Lang, Subject string
		Body          htmltemplate.HTML
	}{
		Lang:    string(l),
		Subject: m.Subject,
		// The body was escaped by html/template; blocks only adds tags.
		Body: htmltemplate.HTML(blocks(tidy(html.String()))),
	})
	if err != nil {
		return Message{}, renderError(kind, l, err)
	}
	m.HTML = page.String()
	return m, nil
}

func renderError(kind MessageKind, l refundflow.Locale, err error) error {
	return fmt.Errorf("notify: render %s (%s): %w", kind, l, err)
}

// optionalKeys are always in a template's data, empty when not given, so
// templates may test them with {{if}}. Every other key is present only when
// the caller set it, and the templates run with missingkey=error: a template
// that uses a field the caller forgot fails instead of printing a blank.
var optionalKeys = []string{"LearnerName", "NextUpdateBy", "CaseURL", "SurveyURL", "ManageURL"}

// view is what the templates see: the data, formatted for the reader.
func view(l refundflow.Locale, d MessageData) map[string]any {
	loc := d.Location
	if loc == nil {
		loc = shanghai
	}
	v := make(map[string]any, 24)
	for _, k := range optionalKeys {
		v[k] = ""
	}
	setString := func(key, s string) {
		if s != "" {
			v[key] = s
		}
	}
	setInstant := func(key string, t time.Time) {
		if !t.IsZero() {
			v[key] = formatDateTime(l, t, loc)
		}
	}
	setDate := func(key string, d calendar.Date) {
		if d != (calendar.Date{}) {
			v[key] = formatDate(l, d)
		}
	}
	setString("LearnerName", d.LearnerName)
	setString("RefundID", d.RefundID)
	setString("OrderID", d.OrderID)
	setString("ProductTitle", d.ProductTitle)
	if d.Currency != "" {
		v["Amount"] = formatMoney(l, d.Amount, d.Currency)
	}
	setString("Explanation", d.Explanation.in(l))
	if len(d.Offers) > 0 {
		offers := make([]map[string]any, len(d.Offers))
		for i, o := range d.Offers {
			offers[i] = offerView(o)
		}
		v["Offers"] = offers
	}
	if d.ChosenOffer.Title != "" {
		v["ChosenOffer"] = offerView(d.ChosenOffer)
	}
	setInstant("Deadline", d.Deadline)
	setDate("ArrivalEarliest", d.ArrivalEarliest)
	setDate("ArrivalLatest", d.ArrivalLatest)
	setString("ProviderRefundID", d.ProviderRefundID)
	setInstant("AppealUntil", d.AppealUntil)
	setInstant("NextUpdateBy", d.NextUpdateBy)
	setString("CaseURL", d.CaseURL)
	setString("TicketID", d.TicketID)
	setString("TicketSubject", d.TicketSubject)
	setString("ReplyBody", strings.TrimSpace(d.ReplyBody))
	setString("SurveyURL", d.SurveyURL)
	if !d.RenewsAt.IsZero() {
		v["RenewsAt"] = formatDate(l, calendar.DateOf(d.RenewsAt.In(loc)))
	}
	setString("ManageURL", d.ManageURL)
	return v
}

func offerView(o refundflow.Offer) map[string]any {
	return map[string]any{"Kind": string(o.Kind), "Title": o.Title, "Detail": o.Detail}
}

// tidy forgives template layout: trailing spaces go, runs of blank lines
// (left by {{if}} blocks) become one, and the text starts and ends with
// words.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true // drops leading blank lines
	for _, line := range lines {
		line = strings.TrimRight(line, " \t")
		if line == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, line)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n")
}

// blocks turns escaped, tidied text into HTML the way a reader sees the
// plain text: a blank line starts a paragraph, lines starting with "- " are
// a list, other line breaks are kept, and web addresses become links. Its
// input has been escaped by html/template, so it contains no markup and
// every tag here is ours.
func blocks(escaped string) string {
	var b strings.Builder
	for para := range strings.SplitSeq(escaped, "\n\n") {
		inList, inPara := false, false
		for line := range strings.SplitSeq(para, "\n") {
			item, isItem := strings.CutPrefix(line, "- ")
			switch {
			case isItem && !inList:
				if inPara {
					b.WriteString("</p>\n")
					inPara = false
				}
				b.WriteString("<ul>\n")
				inList = true
			case !isItem && inList:
				b.WriteString("</ul>\n")
				inList = false
			case !isItem && inPara:
				b.WriteString("<br>\n")
			}
			switch {
			case isItem:
				b.WriteString("<li>" + linkify(item) + "</li>\n")
			case !inPara:
				b.WriteString("<p>")
				inPara = true
				fallthrough
			default:
				b.WriteString(linkify(line))
			}
		}
		if inList {
			b.WriteString("</ul>\n")
		}
		if inPara {
			b.WriteString("</p>\n")
		}
	}
	return b.String()
}

// webAddress matches an http(s) address in escaped text: the characters a
// URL may hold, including the entities html/template writes (&amp; &#43;).
var webAddress = regexp.MustCompile(`https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+`)

func linkify(escaped string) string {
	return webAddress.ReplaceAllStringFunc(escaped, func(u string) string {
		// Sentence punctuation after an address is not part of it.
		trimmed := strings.TrimRight(u, ".,:!?)")
		rest := u[len(trimmed):]
		return `<a href="` + trimmed + `">` + trimmed + `</a>` + rest
	})
}

//go:embed templates/*/*.tmpl templates/layout.html
var templateFS embed.FS

type messageTemplate struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// templates and layout are parsed once at start-up; a broken template stops
// the binary at once (and fails the tests) instead of failing a send later.
var (
	templates = mustParseTemplates()
	layout    = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/layout.html"))
)

func mustParseTemplates() map[refundflow.Locale]map[MessageKind]messageTemplate {
	all := make(map[refundflow.Locale]map[MessageKind]messageTemplate)
	for _, l := range []refundflow.Locale{refundflow.LocaleEn, refundflow.LocaleZhCN} {
		all[l] = make(map[MessageKind]messageTemplate, len(MessageKinds))
		for _, k := range MessageKinds {
			files := []string{"templates/" + string(l) + "/_common.tmpl", "templates/" + string(l) + "/" + string(k) + ".tmpl"}
			t := messageTemplate{
				text: texttemplate.Must(texttemplate.New(string(k)).Option("missingkey=error").ParseFS(templateFS, files...)),
				html: htmltemplate.Must(htmltemplate.New(string(k)).Option("missingkey=error").ParseFS(templateFS, files...)),
			}
			for _, name := range []string{"subject", "body"} {
				if t.text.Lookup(name) == nil {
					panic(fmt.Sprintf("notify: %s defines no %q", files[1], name))
				}
			}
			all[l][k] = t
		}
	}
	return all
}
