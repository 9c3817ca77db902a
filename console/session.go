package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/web"
)

const (
	sessionCookie = "rf_console"
	sessionTTL    = 12 * time.Hour
)

// session is a signed-in console user: the API key they signed in with.
type session struct {
	key   *refundflow.APIKey
	token string // the cookie's secret; never stored, only its hash
	lang  string
}

// csrf is the form token of the session: derived from the cookie's secret,
// which a page on another site can neither read nor compute.
func (s *session) csrf() string {
	m := hmac.New(sha256.New, []byte(s.token))
	m.Write([]byte("console-form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *session) can(rs ...refundflow.Role) bool { return slices.Contains(rs, s.key.Role) }

// Key is the signed-in API key (for the page header).
func (s *session) Key() *refundflow.APIKey { return s.key }

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

type handler func(w http.ResponseWriter, r *http.Request, sess *session)

// auth lets a request through only with a live session whose role is one
// of allowed (nil: any console role); every form post must carry the
// session's token.
func (s *Server) auth(allowed []refundflow.Role, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
			return
		}
		key, err := s.DB.ConsoleSessionKey(r.Context(), hashToken(c.Value))
		if err != nil {
			if refundflow.ErrorKind(err) == refundflow.EUNAUTHORIZED {
				clearCookie(w, r)
				http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
				return
			}
			s.failPage(w, r, err)
			return
		}
		sess := &session{key: key, token: c.Value, lang: language(r)}
		if allowed != nil && !sess.can(allowed...) {
			s.render(w, r, sess, http.StatusForbidden, "error", errorPage{Title: "forbidden", Message: "forbidden_role"})
			return
		}
		if r.Method == http.MethodPost && !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(sess.csrf())) {
			s.render(w, r, sess, http.StatusForbidden, "error", errorPage{Title: "forbidden", Message: "bad_form_token"})
			return
		}
		h(w, r, sess)
	})
}

// checkInput holds every console request to the API's rules for input
// before any handler reads it: a form body of at most web.MaxBodyBytes
// (parsed here, so an oversized one is 413, not an empty form) and query
// parameters that are storable text (web.CheckQuery).
func (s *Server) checkInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, web.MaxBodyBytes)
			if err := r.ParseForm(); err != nil {
				status, message := http.StatusBadRequest, "bad_form"
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					status, message = http.StatusRequestEntityTooLarge, "form_too_large"
				}
				s.render(w, r, nil, status, "error", errorPage{Title: "error", Message: message})
				return
			}
		}
		if err := web.CheckQuery(r.URL.Query()); err != nil {
			s.render(w, r, nil, http.StatusBadRequest, "error", errorPage{Title: "error", Message: "bad_query"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, nil, http.StatusOK, "signin", signinPage{})
}

// signin trades an API key for a session cookie. Platform keys belong to
// the platform's backend, not to people. A key that is not valid counts
// against the client's address, as on the API (web.AuthThrottle).
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	secret := strings.TrimSpace(r.PostFormValue("key"))
	key, err := s.DB.Authenticate(r.Context(), secret)
	if refundflow.ErrorKind(err) == refundflow.EUNAUTHORIZED {
		if wait, refused := s.Throttle.Failed("console", web.ClientAddress(r)); refused {
			w.Header().Set("Retry-After", web.RetryAfterSeconds(wait))
			s.render(w, r, nil, http.StatusTooManyRequests, "signin", signinPage{Error: "too_many_failed_keys"})
			return
		}
		s.render(w, r, nil, http.StatusUnauthorized, "signin", signinPage{Error: "invalid_key"})
		return
	}
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if key.Role == refundflow.RolePlatform {
		s.render(w, r, nil, http.StatusForbidden, "signin", signinPage{Error: "platform_key"})
		return
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		s.failPage(w, r, err)
		return
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	if err := s.DB.CreateConsoleSession(r.Context(), hashToken(token), key.ID, s.Now().Add(sessionTTL)); err != nil {
		s.failPage(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/console", MaxAge: int(sessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: behindTLS(r),
	})
	http.Redirect(w, r, "/console/queue", http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.DB.EndConsoleSession(r.Context(), hashToken(sess.token)); err != nil {
		s.failPage(w, r, err)
		return
	}
	clearCookie(w, r)
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/console", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: behindTLS(r)})
}

// behindTLS reports whether the browser reached us over HTTPS, directly or
// through a proxy that says so.
func behindTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

const langCookie = "rf_lang"

// language is the page language: the visitor's choice, else their browser's.
func language(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "en" || c.Value == "zh-CN") {
		return c.Value
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "zh") {
		return "zh-CN"
	}
	return "en"
}

func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	if lang != "en" && lang != "zh-CN" {
		lang = "en"
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/console", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteStrictMode, Secure: behindTLS(r)})
	back := r.PostFormValue("back")
	if !consolePath(back) {
		back = "/console/queue"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// consolePath reports whether p is a console page's path to send a browser
// back to: /console or below, already clean, and nothing a browser could
// read as another site — no backslash (read as a slash: /\evil is
// //evil), no doubled slash, no dot segment (http.Redirect would clean
// /console/../\evil to /\evil), no query, no control character.
func consolePath(p string) bool {
	if p != "/console" && !strings.HasPrefix(p, "/console/") {
		return false
	}
	if clean := path.Clean(p); clean != p && clean+"/" != p {
		return false
	}
	for _, c := range []byte(p) {
		if c < 0x21 || c == 0x7f || c == '\\' || c == '%' || c == '?' || c == '#' {
			return false
		}
	}
	return true
}
