package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/smtptest"
)

// mailerFor returns a mailer that trusts the test server's certificate.
func mailerFor(t *testing.T, s *smtptest.Server, scheme, userinfo string) *SMTPMailer {
	t.Helper()
	m, err := NewSMTPMailer(scheme+"://"+userinfo+"127.0.0.1:"+s.Port(), "课程售后 <support@refundflow.example>")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(s.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	m.TLSConfig = &tls.Config{RootCAs: roots}
	m.Now = func() time.Time { return time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC) }
	return m
}

// parsed is a received message taken apart the way a mail client would.
type parsed struct {
	header     mail.Header
	subject    string
	text, html string
	parts      []string // content types in order
}

func parseMail(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a mail message: %v\n%s", err, raw)
	}
	var p parsed
	p.header = msg.Header
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	readPart := func(contentType, encoding string, r io.Reader) {
		if encoding != "quoted-printable" {
			t.Errorf("part %s has transfer encoding %q", contentType, encoding)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(r))
		if err != nil {
			t.Fatal(err)
		}
		p.parts = append(p.parts, contentType)
		switch contentType {
		case "text/plain; charset=utf-8":
			p.text = strings.ReplaceAll(string(b), "\r\n", "\n")
		case "text/html; charset=utf-8":
			p.html = strings.ReplaceAll(string(b), "\r\n", "\n")
		}
	}
	if mediaType != "multipart/alternative" {
		readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart() // raw: we check the encoding ourselves
		if errors.Is(err, io.EOF) {
			return p
		}
		if err != nil {
			t.Fatal(err)
		}
		readPart(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
	}
}

func TestEmailArrivesOverSTARTTLSWithTextAndHTMLPartsAndAUTF8Subject(t *testing.T) {
	srv := smtptest.Start(t, func(s *smtptest.Server) { s.Extensions = []string{"STARTTLS", "AUTH PLAIN LOGIN", "8BITMIME"} })
	m := mailerFor(t, srv, "smtp", "mailer:p%40ss%20word@")
	msg, err := Render(KindRefunded, "zh-CN", fullData())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), msg.Email("李雷 <lilei@example.com>", "refund/rf_8Kd2/refunded")); err != nil {
		t.Fatal(err)
	}

	got := srv.Received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages", len(got))
	}
	r := got[0]
	if !r.TLS || r.Auth != "PLAIN" || r.From != "support@refundflow.example" || r.To != "lilei@example.com" {
		t.Errorf("envelope: tls=%v auth=%q from=%q to=%q", r.TLS, r.Auth, r.From, r.To)
	}
	p := parseMail(t, r.Data)
	if p.subject != msg.Subject {
		t.Errorf("subject = %q, want %q", p.subject, msg.Subject)
	}
	if raw := p.header.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?b?") {
		t.Errorf("subject is not RFC 2047 encoded: %q", raw)
	}
	if p.text != msg.Text || p.html != msg.HTML {
		t.Errorf("parts differ from the message:\ntext: %q\nhtml: %q", p.text, p.html)
	}
	if want := []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}; fmt.Sprint(p.parts) != fmt.Sprint(want) {
		t.Errorf("parts = %v, want %v (HTML last, as the preferred alternative)", p.parts, want)
	}
	for name, want := range map[string]string{
		"Message-Id":     "<refund/rf_8Kd2/refunded@refundflow.example>",
		"Date":           "Thu, 05 Mar 2026 10:00:00 +0000",
		"Mime-Version":   "1.0",
		"Auto-Submitted": "auto-generated",
	} {
		if got := p.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	from, err := p.header.AddressList("From")
	if err != nil || from[0].Name != "课程售后" || from[0].Address != "support@refundflow.example" {
		t.Errorf("From = %v, %v", from, err)
	}
	to, err := p.header.AddressList("To")
	if err != nil || to[0].Name != "李雷" {
		t.Errorf("To = %v, %v", to, err)
	}
	for i, line := range bytes.Split(r.Data, []byte("\n")) {
		if len(line) > 998 {
			t.Errorf("line %d is %d bytes long: SMTP allows 998", i, len(line))
		}
	}
}

func TestSMTPSSpeaksTLSFromTheFirstByteAndLogsInWithLOGIN(t *testing.T) {
	srv := smtptest.Start(t, func(s *smtptest.Server) {
		s.ImplicitTLS = true
		s.Extensions = []string{"AUTH LOGIN"}
	})
	m := mailerFor(t, srv, "smtps", "mailer:p%40ss%20word@")
	if err := m.Send(context.Background(), Email{To: "a@example.com", Subject: "Hello", Text: "Hi", MessageID: "m1"}); err != nil {
		t.Fatal(err)
	}
	r := srv.Received()[0]
	if !r.TLS || r.Auth != "LOGIN" {
		t.Errorf("tls=%v auth=%q", r.TLS, r.Auth)
	}
	p := parseMail(t, r.Data)
	if p.text != "Hi\n" || fmt.Sprint(p.parts) != "[text/plain; charset=utf-8]" {
		t.Errorf("a text-only email should be one text part: %v %q", p.parts, p.text)
	}
}

func TestLocalMailCatcherNeedsNoCredentials(t *testing.T) {
	srv := smtptest.Start(t, nil)
	m := mailerFor(t, srv, "smtp", "")
	if err := m.Send(context.Background(), Email{To: "a@example.com", Subject: "s", Text: "t", HTML: "<p>t</p>", MessageID: "m1"}); err != nil {
		t.Fatal(err)
	}
	if r := srv.Received()[0]; r.TLS || r.Auth != "" {
		t.Errorf("tls=%v auth=%q", r.TLS, r.Auth)
	}
}

func TestRetriedEmailCarriesTheSameMessageID(t *testing.T) {
	srv := smtptest.Start(t, nil)
	m := mailerFor(t, srv, "smtp", "")
	for _, id := range []string{"refund/rf_1/approved", "refund rf_1 <approved>"} {
		e := Email{To: "a@example.com", Subject: "s", Text: "t", MessageID: id}
		for range 2 {
			if err := m.Send(context.Background(), e); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := srv.Received()
	ids := make([]string, len(got))
	for i, r := range got {
		ids[i] = parseMail(t, r.Data).header.Get("Message-Id")
	}
	if ids[0] != "<refund/rf_1/approved@refundflow.example>" || ids[1] != ids[0] {
		t.Errorf("Message-IDs of one message sent twice: %q, %q", ids[0], ids[1])
	}
	if ids[2] != ids[3] || ids[2] == ids[0] || !strings.HasPrefix(ids[2], "<rf.") || strings.Contains(ids[2], " ") {
		t.Errorf("an id that is not a dot-atom is hashed, stably: %q, %q", ids[2], ids[3])
	}
}

func TestSMTPRepliesDecideWhetherToRetry(t *testing.T) {
	srv := smtptest.Start(t, func(s *smtptest.Server) {
		s.Extensions = []string{"AUTH PLAIN"}
		s.RcptReplies = map[string]string{
			"gone@example.com":  "550 5.1.1 no such user",
			"later@example.com": "451 4.7.1 greylisted, try again later",
		}
	})
	cases := []struct {
		name      string
		userinfo  string
		to        string
		code      int
		permanent bool
	}{
		{"unknown mailbox", "mailer:p%40ss%20word@", "gone@example.com", 550, true},
		{"greylisted", "mailer:p%40ss%20word@", "later@example.com", 451, false},
		{"wrong password", "mailer:guess@", "a@example.com", 535, true},
	}
	for _, c := range cases {
		err := mailerFor(t, srv, "smtp", c.userinfo).Send(context.Background(), Email{To: c.to, Subject: "s", Text: "t", MessageID: "m"})
		var d *DeliveryError
		if !errors.As(err, &d) || d.Code != c.code || IsPermanent(err) != c.permanent {
			t.Errorf("%s: err = %v, want code %d permanent=%v", c.name, err, c.code, c.permanent)
		}
	}
	if n := len(srv.Received()); n != 0 {
		t.Errorf("%d messages were accepted", n)
	}
}

func TestUnusableEmailIsPermanentWithoutTouchingTheServer(t *testing.T) {
	srv := smtptest.Start(t, nil)
	m := mailerFor(t, srv, "smtp", "")
	for _, e := range []Email{
		{To: "not an address", Subject: "s", Text: "t", MessageID: "m"},
		{To: "", Subject: "s", Text: "t", MessageID: "m"},
		{To: "a@example.com", Subject: "s", Text: "t"},
	} {
		if err := m.Send(context.Background(), e); !IsPermanent(err) {
			t.Errorf("%+v: err = %v, want permanent", e, err)
		}
	}
}

func TestCredentialsTheServerCannotTakeArePermanent(t *testing.T) {
	for _, ext := range [][]string{{"AUTH CRAM-MD5"}, nil} {
		srv := smtptest.Start(t, func(s *smtptest.Server) { s.Extensions = ext })
		err := mailerFor(t, srv, "smtp", "mailer:x@").Send(context.Background(), Email{To: "a@example.com", Subject: "s", Text: "t", MessageID: "m"})
		if !IsPermanent(err) {
			t.Errorf("server offering %v: err = %v, want permanent", ext, err)
		}
	}
}

func TestUnreachableServerIsTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m, err := NewSMTPMailer("smtp://"+addr, "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), Email{To: "b@example.com", Subject: "s", Text: "t", MessageID: "m"})
	if err == nil || IsPermanent(err) {
		t.Errorf("err = %v, want temporary", err)
	}
}

func TestSilentServerTimesOutAsTemporary(t *testing.T) {
	srv := smtptest.Start(t, func(s *smtptest.Server) { s.Silent = true })
	m := mailerFor(t, srv, "smtp", "")
	m.Timeout = 200 * time.Millisecond
	start := time.Now()
	err := m.Send(context.Background(), Email{To: "b@example.com", Subject: "s", Text: "t", MessageID: "m"})
	if err == nil || IsPermanent(err) {
		t.Errorf("err = %v, want temporary", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Send took %v with a 200ms timeout", d)
	}
}

func TestCancellingTheContextAbortsTheSend(t *testing.T) {
	srv := smtptest.Start(t, func(s *smtptest.Server) { s.Silent = true })
	m := mailerFor(t, srv, "smtp", "")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	err := m.Send(ctx, Email{To: "b@example.com", Subject: "s", Text: "t", MessageID: "m"})
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Errorf("err = %v, want a temporary error wrapping context.Canceled", err)
	}
}

func TestSMTPURLs(t *testing.T) {
	good := []struct {
		url, addr string
		tls       bool
		user      string
		pass      string
	}{
		{"smtp://mail.example.com", "mail.example.com:587", false, "", ""},
		{"smtp://u:p@mail.example.com:25", "mail.example.com:25", false, "u", "p"},
		{"smtps://apikey:s%2Fcret@smtp.example.com", "smtp.example.com:465", true, "apikey", "s/cret"},
		{"smtp://[::1]:1025", "[::1]:1025", false, "", ""},
	}
	for _, c := range good {
		m, err := NewSMTPMailer(c.url, "Support <support@example.com>")
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if m.addr != c.addr || m.implicitTLS != c.tls || m.user != c.user || m.pass != c.pass {
			t.Errorf("%s: addr=%s tls=%v user=%q pass=%q", c.url, m.addr, m.implicitTLS, m.user, m.pass)
		}
	}
	for _, bad := range []string{"http://mail.example.com", "smtp://", "smtp://h/path", "smtp://h?starttls=no", "smtp://u:topsecret@h:port"} {
		_, err := NewSMTPMailer(bad, "support@example.com")
		if err == nil {
			t.Errorf("%s: accepted", bad)
		} else if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%s: error leaks the password: %v", bad, err)
		}
	}
	if _, err := NewSMTPMailer("smtp://h", "not an address"); err == nil {
		t.Error("a bad sender was accepted")
	}
}
