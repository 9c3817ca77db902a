// Package smtptest is a real SMTP server for tests, on loopback: the
// mailer's tests and the outbox's deliver to it, and it can go down and
// come back on the same port.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a small, real SMTP server (RFC 5321 subset: EHLO, STARTTLS,
// AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on loopback.
type Server struct {
	Cert        tls.Certificate
	ImplicitTLS bool
	Extensions  []string          // advertised after EHLO, e.g. "STARTTLS", "AUTH PLAIN LOGIN"
	User, Pass  string            // accepted credentials
	RcptReplies map[string]string // recipient → reply line instead of 250
	Silent      bool              // accepts connections and never says a word
	// OnMail, when set, is called with each message the server accepts,
	// before it answers the DATA: the answer waits until it returns, so a
	// caller can hold it (set it before Up).
	OnMail func(Mail)

	addr string
	mu   sync.Mutex
	ln   net.Listener
	msgs []Mail
	wg   sync.WaitGroup
}

// Mail is one message the server accepted.
type Mail struct {
	HELO, Auth, From, To string
	TLS                  bool
	Data                 []byte
}

// Start starts a server on a free loopback port, configured by configure
// (nil: no extensions, credentials mailer / "p@ss word"); it stops when
// the test ends.
func Start(t testing.TB, configure func(*Server)) *Server {
	t.Helper()
	s := &Server{Cert: selfSignedCert(t), User: "mailer", Pass: "p@ss word", addr: "127.0.0.1:0"}
	if configure != nil {
		configure(s)
	}
	if err := s.Up(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Down() })
	return s
}

// New returns a server for a program that is not a test (the chaos run):
// plain SMTP, no extensions, on a free loopback port once Up is called.
// A test uses Start.
func New() *Server { return &Server{addr: "127.0.0.1:0"} }

// Up listens (again) on the server's address.
func (s *Server) Up() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.addr = ln.Addr().String()
	if s.ImplicitTLS {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{s.Cert}})
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	return nil
}

// Down stops listening: connections are refused until Up.
func (s *Server) Down() {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.wg.Wait()
}

// Port is the port the server listens on.
func (s *Server) Port() string {
	_, p, _ := net.SplitHostPort(s.addr)
	return p
}

// Received lists the messages accepted so far.
func (s *Server) Received() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.msgs...)
}

func (s *Server) serve(c net.Conn) {
	defer func() { c.Close() }()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if s.Silent {
		_, _ = io.Copy(io.Discard, c)
		return
	}
	tp := textproto.NewConn(c)
	cur := Mail{TLS: s.ImplicitTLS}
	reply := func(format string, args ...any) { _ = tp.PrintfLine(format, args...) }
	reply("220 test.invalid ESMTP ready")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			cur.HELO = arg
			var exts []string
			for _, e := range s.Extensions {
				if !(e == "STARTTLS" && cur.TLS) {
					exts = append(exts, e)
				}
			}
			if len(exts) == 0 {
				reply("250 test.invalid")
				continue
			}
			reply("250-test.invalid")
			for i, e := range exts {
				if i == len(exts)-1 {
					reply("250 %s", e)
				} else {
					reply("250-%s", e)
				}
			}
		case "STARTTLS":
			reply("220 2.0.0 go ahead")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.Cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			c, tp, cur.TLS = tc, textproto.NewConn(tc), true
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			user, pass := s.readCredentials(tp, strings.ToUpper(mech), initial)
			if user == s.User && pass == s.Pass {
				cur.Auth = strings.ToUpper(mech)
				reply("235 2.7.0 authenticated")
			} else {
				reply("535 5.7.8 authentication credentials invalid")
			}
		case "MAIL":
			cur.From = angleAddr(arg)
			reply("250 2.1.0 ok")
		case "RCPT":
			addr := angleAddr(arg)
			if r, ok := s.RcptReplies[addr]; ok {
				reply("%s", r)
				continue
			}
			cur.To = addr
			reply("250 2.1.5 ok")
		case "DATA":
			reply("354 end with <CRLF>.<CRLF>")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.Data = data
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			if s.OnMail != nil {
				s.OnMail(cur)
			}
			reply("250 2.0.0 queued")
		case "RSET", "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.1 unknown command")
		}
	}
}

// angleAddr takes the address out of "FROM:<a@b> BODY=8BITMIME".
func angleAddr(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

func (s *Server) readCredentials(tp *textproto.Conn, mech, initial string) (user, pass string) {
	ask := func(challenge string) string {
		_ = tp.PrintfLine("334 %s", base64.StdEncoding.EncodeToString([]byte(challenge)))
		line, _ := tp.ReadLine()
		b, _ := base64.StdEncoding.DecodeString(line)
		return string(b)
	}
	switch mech {
	case "PLAIN":
		resp := initial
		if resp == "" {
			_ = tp.PrintfLine("334 ")
			resp, _ = tp.ReadLine()
		}
		b, _ := base64.StdEncoding.DecodeString(resp)
		parts := strings.Split(string(b), "\x00")
		if len(parts) == 3 {
			return parts[1], parts[2]
		}
	case "LOGIN":
		return ask("Username:"), ask("Password:")
	}
	return "", ""
}

func selfSignedCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
