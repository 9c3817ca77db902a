package chaos

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/smtptest"
)

// mailSink is the learners' mail server: a real SMTP server on loopback
// that the workers send to (SMTP_URL). It goes down and comes back on the
// same port, and holds its answer to accepted messages while the run kills
// the workers that wait for it. The run deduplicates what it received by
// Message-ID, as a mail client does.
type mailSink struct {
	srv  *smtptest.Server
	hold holder
}

// mailHold is how long a held answer is held: well within the test
// server's 5 s session deadline, and long enough to kill the workers.
const mailHold = 3 * time.Second

func startMailSink() (*mailSink, error) {
	m := &mailSink{srv: smtptest.New()}
	m.srv.OnMail = func(smtptest.Mail) { m.hold.wait() }
	if err := m.srv.Up(); err != nil {
		return nil, err
	}
	return m, nil
}

// smtpURL is the SMTP_URL the workers send with.
func (m *mailSink) smtpURL() string {
	return "smtp://127.0.0.1:" + m.srv.Port() + "?from=refunds@chaos.example"
}

func (m *mailSink) up() error { return m.srv.Up() }
func (m *mailSink) down()     { m.srv.Down() }

// receivedMail is one message as a reader sees it.
type receivedMail struct {
	To, Subject, Text string
	Copies            int
}

// received reads every accepted message and deduplicates by Message-ID
// (<id@domain>, id the outbox's): one entry per id, with how many copies
// came. Copies that differ, and messages that cannot be read, are
// problems.
func (m *mailSink) received() (map[string]receivedMail, receiverTally, []string) {
	out := map[string]receivedMail{}
	var tally receiverTally
	var problems []string
	for _, raw := range m.srv.Received() {
		tally.Deliveries++
		id, got, err := readMail(raw.Data)
		if err != nil {
			problems = append(problems, fmt.Sprintf("unreadable email to %s: %v", raw.To, err))
			continue
		}
		if got.To != raw.To {
			problems = append(problems, fmt.Sprintf("email %s: header To %q, envelope %q", id, got.To, raw.To))
		}
		if prev, ok := out[id]; ok {
			if prev.To != got.To || prev.Subject != got.Subject || prev.Text != got.Text {
				problems = append(problems, fmt.Sprintf("email %s came twice with different content", id))
			}
			prev.Copies++
			out[id] = prev
			continue
		}
		got.Copies = 1
		out[id] = got
	}
	return out, tally, problems
}

// readMail takes a message apart: the outbox id from its Message-ID, the
// recipient, the decoded subject and the text part.
func readMail(data []byte) (string, receivedMail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return "", receivedMail{}, err
	}
	h := msg.Header
	mid := strings.TrimSuffix(strings.TrimPrefix(h.Get("Message-Id"), "<"), ">")
	at := strings.LastIndexByte(mid, '@')
	if at <= 0 {
		return "", receivedMail{}, fmt.Errorf("Message-ID %q", h.Get("Message-Id"))
	}
	var r receivedMail
	if to, err := mail.ParseAddress(h.Get("To")); err == nil {
		r.To = to.Address
	}
	if r.Subject, err = new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil {
		return "", r, fmt.Errorf("subject: %w", err)
	}
	if r.Text, err = textPart(h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
		return "", r, err
	}
	return mid[:at], r, nil
}

// textPart is the text/plain body: the message itself, or the first
// text/plain part of a multipart one (multipart decodes quoted-printable
// by itself).
func textPart(contentType, encoding string, body io.Reader) (string, error) {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("content type %q: %w", contentType, err)
	}
	if !strings.HasPrefix(media, "multipart/") {
		if strings.EqualFold(encoding, "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(body)
		return string(b), err
	}
	parts := multipart.NewReader(body, params["boundary"])
	for {
		p, err := parts.NextPart()
		if err != nil {
			return "", fmt.Errorf("no text/plain part: %w", err)
		}
		if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct == "text/plain" {
			b, err := io.ReadAll(p)
			return string(b), err
		}
	}
}
