package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"
)

// Email is one message to one learner.
type Email struct {
	To      string // "a@example.com" or "张三 <a@example.com>"
	Subject string
	Text    string
	HTML    string // optional; without it the email is plain text only
	// MessageID is the caller's stable id for this message, the same on
	// every attempt (e.g. "refund/<id>/refunded"): it becomes the Message-ID
	// header, so a message sent twice after an ambiguous failure is
	// recognisable as one by mail clients and by the people tracing it.
	MessageID string
}

// Mailer sends one email per call and does not retry.
type Mailer interface {
	Send(ctx context.Context, e Email) error
}

// DefaultSMTPTimeout bounds one whole SMTP transaction (connect to QUIT)
// when the caller's context allows longer.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPMailer sends through an SMTP server (a provider's submission port or
// a local mail catcher). Each Send is one connection and one transaction.
type SMTPMailer struct {
	host        string // for TLS verification and the AUTH host check
	addr        string
	implicitTLS bool
	user, pass  string
	from        *mail.Address
	helo        string

	// Timeout overrides DefaultSMTPTimeout.
	Timeout time.Duration
	// TLSConfig is used for STARTTLS and smtps; nil means the system roots
	// and the URL's host name.
	TLSConfig *tls.Config
	// Now dates the messages; nil means time.Now.
	Now func() time.Time
}

var _ Mailer = (*SMTPMailer)(nil)

// NewSMTPMailer reads an SMTP_URL:
//
//	smtp://user:pass@host:port   plain connection, upgraded with STARTTLS when the server offers it (port 587 if omitted)
//	smtps://user:pass@host:port  TLS from the first byte (port 465 if omitted)
//
// User and password are optional (a local mail catcher needs none) and must
// be URL-escaped. Credentials are only ever sent over TLS (or to a server on
// this machine). from is the sender, e.g. "课程售后 <support@example.com>".
func NewSMTPMailer(smtpURL, from string) (*SMTPMailer, error) {
	// The URL holds a password: no error below may quote it.
	u, err := url.Parse(smtpURL)
	if err != nil {
		return nil, errors.New("notify: SMTP URL is not a valid URL")
	}
	m := &SMTPMailer{host: u.Hostname()}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "587"
		}
	case "smtps":
		m.implicitTLS = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, fmt.Errorf("notify: SMTP URL scheme %q: want smtp or smtps", u.Scheme)
	}
	if m.host == "" {
		return nil, errors.New("notify: SMTP URL has no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New("notify: SMTP URL takes no path or query")
	}
	m.addr = net.JoinHostPort(m.host, port)
	if u.User != nil {
		m.user = u.User.Username()
		m.pass, _ = u.User.Password()
	}
	if m.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("notify: sender %q: %w", from, err)
	}
	// Some servers refuse "EHLO localhost", which net/smtp sends by default.
	m.helo = "localhost"
	if h, err := os.Hostname(); err == nil && h != "" {
		m.helo = h
	}
	return m, nil
}

// Send delivers e in one SMTP transaction. Errors are *DeliveryError: 5xx
// replies and unusable input are permanent, 4xx replies, network failures
// and timeouts temporary. Once the server has accepted the message, a
// failure to say goodbye is not an error: the message is on its way.
func (m *SMTPMailer) Send(ctx context.Context, e Email) error {
	to, err := mail.ParseAddress(e.To)
	if err != nil {
		return permanent("smtp", fmt.Errorf("recipient %q: %w", e.To, err))
	}
	if e.MessageID == "" {
		return permanent("smtp", errors.New("email has no MessageID"))
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	msg, err := m.compose(e, to, now())
	if err != nil {
		return permanent("smtp", err)
	}

	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := m.dial(ctx)
	if err != nil {
		return &DeliveryError{Op: "smtp connect " + m.addr, Err: err}
	}
	// net/smtp has no contexts: a deadline on the connection bounds every
	// read and write, and cancelling ctx moves it into the past.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	err = m.transact(conn, to.Address, msg)
	if err != nil && ctx.Err() != nil {
		var d *DeliveryError
		if errors.As(err, &d) && !d.Permanent {
			d.Err = fmt.Errorf("%w: %w", context.Cause(ctx), d.Err)
		}
	}
	return err
}

func (m *SMTPMailer) tlsConfig() *tls.Config {
	if m.TLSConfig != nil {
		c := m.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = m.host
		}
		return c
	}
	return &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}
}

func (m *SMTPMailer) dial(ctx context.Context) (net.Conn, error) {
	if m.implicitTLS {
		d := tls.Dialer{Config: m.tlsConfig()}
		return d.DialContext(ctx, "tcp", m.addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", m.addr)
}

func (m *SMTPMailer) transact(conn net.Conn, to string, msg []byte) error {
	c, err := smtp.NewClient(conn, m.host)
	if err != nil { // NewClient has closed conn
		return smtpError("smtp greeting", err)
	}
	defer c.Close()
	if err := c.Hello(m.helo); err != nil {
		return smtpError("smtp EHLO", err)
	}
	if !m.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(m.tlsConfig()); err != nil {
				return smtpError("smtp STARTTLS", err)
			}
		}
	}
	if m.user != "" {
		auth, err := m.auth(c)
		if err != nil {
			return permanent("smtp AUTH", err)
		}
		if err := c.Auth(auth); err != nil {
			return authError(err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return smtpError("smtp MAIL FROM", err)
	}
	if err := c.Rcpt(to); err != nil {
		return smtpError("smtp RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpError("smtp DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError("smtp DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("smtp DATA", err)
	}
	_ = c.Quit() // the server has accepted the message; see Send
	return nil
}

// auth picks a mechanism the server offers. PLAIN is the common one; LOGIN
// is all that some providers (Office 365) offer.
func (m *SMTPMailer) auth(c *smtp.Client) (smtp.Auth, error) {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return nil, errors.New("the server offers no AUTH, so the credentials in the SMTP URL cannot be used (without STARTTLS many servers hide AUTH)")
	}
	offered := strings.Fields(strings.ToUpper(mechs))
	for _, want := range []string{"PLAIN", "LOGIN"} {
		for _, o := range offered {
			if o != want {
				continue
			}
			if want == "PLAIN" {
				return smtp.PlainAuth("", m.user, m.pass, m.host), nil
			}
			return &loginAuth{user: m.user, pass: m.pass, host: m.host}, nil
		}
	}
	return nil, fmt.Errorf("the server offers AUTH %s; we speak PLAIN and LOGIN", mechs)
}

// smtpError classifies a failed SMTP step by its reply code (RFC 5321 4.2.1:
// 5yz is permanent, 4yz transient); without a reply it was the network.
func smtpError(op string, err error) error {
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return &DeliveryError{Op: op, Code: reply.Code, Permanent: reply.Code >= 500, Err: err}
	}
	return &DeliveryError{Op: op, Err: err}
}

// authError is smtpError, except that a refusal from our side (credentials
// over an unencrypted connection, a host mismatch) is a configuration
// problem no retry fixes.
func authError(err error) error {
	var reply *textproto.Error
	var netErr net.Error
	if errors.As(err, &reply) || errors.As(err, &netErr) || errors.Is(err, io.EOF) {
		return smtpError("smtp AUTH", err)
	}
	return permanent("smtp AUTH", err)
}

// loginAuth is the AUTH LOGIN mechanism, which net/smtp lacks. Like
// smtp.PlainAuth it refuses to send the password in the clear.
type loginAuth struct{ user, pass, host string }

func (a *loginAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS && !isLocalhost(s.Name) {
		return "", nil, errors.New("refusing to send the password over an unencrypted connection")
	}
	if s.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(challenge))) {
	case "username:":
		return []byte(a.user), nil
	case "password:":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected AUTH LOGIN challenge %q", challenge)
}

func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// compose writes the message: headers, then multipart/alternative with the
// text first and the HTML last (RFC 2046: the preferred part comes last).
// Bodies are quoted-printable, so the message is 7-bit clean and survives
// any relay.
func (m *SMTPMailer) compose(e Email, to *mail.Address, date time.Time) ([]byte, error) {
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("From", m.from.String())
	header("To", to.String())
	header("Subject", encodeSubject(e.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", messageIDHeader(e.MessageID, m.from.Address))
	header("MIME-Version", "1.0")
	// RFC 3834: out-of-office robots should not answer a notification.
	header("Auto-Submitted", "auto-generated")
	if e.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQuotedPrintable(&b, e.Text); err != nil {
			return nil, err
		}
		b.WriteString("\r\n")
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, p := range []struct{ contentType, body string }{
		{"text/plain; charset=utf-8", e.Text},
		{"text/html; charset=utf-8", e.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.contentType},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQuotedPrintable(w, p.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeQuotedPrintable(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}

// encodeSubject keeps the subject on one logical line (a line break in a
// product title must not start a new header) and RFC 2047-encodes it when
// it is not plain ASCII, folding between encoded words.
func encodeSubject(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(mime.BEncoding.Encode("utf-8", s), "?= =?", "?=\r\n =?")
}

// messageIDHeader makes "<id@sender-domain>" from the caller's id. An id
// that is not a valid RFC 5322 dot-atom is hashed, so the header is always
// well-formed and still the same for the same id.
func messageIDHeader(id, from string) string {
	domain := from[strings.LastIndexByte(from, '@')+1:]
	if !isDotAtom(domain) {
		domain = "refundflow.invalid"
	}
	if !isDotAtom(id) {
		sum := sha256.Sum256([]byte(id))
		id = "rf." + hex.EncodeToString(sum[:16])
	}
	return "<" + id + "@" + domain + ">"
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0) {
			return false
		}
	}
	return true
}
