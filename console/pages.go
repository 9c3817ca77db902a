package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/web"
)

// pages holds one template set per page: the layout plus the page.
type pages struct {
	byName map[string]*template.Template
}

func mustParsePages() *pages {
	funcs := template.FuncMap{
		"money": func(amount any, currency any) string {
			c := money.Currency(fmt.Sprint(currency))
			switch v := amount.(type) {
			case int64:
				return money.Format(v, c)
			case *int64:
				if v == nil {
					return "–"
				}
				return money.Format(*v, c)
			}
			return fmt.Sprint(amount)
		},
		"pct":    percent,
		"mul100": func(f float64) float64 { return f * 100 },
		"rfc3339": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				return v.UTC().Format(time.RFC3339)
			case *time.Time:
				if v != nil {
					return v.UTC().Format(time.RFC3339)
				}
			}
			return ""
		},
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	// Files named _*.html are parts that any page may include.
	parts, err := fs.Glob(templateFiles, "templates/_*.html")
	if err != nil {
		panic(err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		files := append([]string{"templates/layout.html", n}, parts...)
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, files...))
		p.byName[base] = t
	}
	return p
}

// view is what every page template gets.
type view struct {
	Page    string
	Lang    string
	Session *session
	CSRF    string
	Path    string
	Nav     []navItem
	Data    any
	Now     time.Time
	loc     *time.Location
}

type navItem struct {
	Href, Label string
	Active      bool
}

// T translates a message key into the page's language.
func (v view) T(key string) string { return translate(v.Lang, key) }

// Tf translates a message key with arguments (fmt verbs).
func (v view) Tf(key string, args ...any) string { return fmt.Sprintf(translate(v.Lang, key), args...) }

// Enum translates a code (a status, a tier, a reason) by its key
// prefix+code, or shows the code itself when the catalog has no words for
// it.
func (v view) Enum(prefix string, code any) string {
	c := fmt.Sprint(code)
	return translateOr(v.Lang, prefix+c, c)
}

// When shows an instant in the page's time zone (Beijing time in Chinese).
func (v view) When(t any) string {
	var tt time.Time
	switch x := t.(type) {
	case time.Time:
		tt = x
	case *time.Time:
		if x == nil {
			return "–"
		}
		tt = *x
	default:
		return ""
	}
	return tt.In(v.loc).Format("2006-01-02 15:04 MST")
}

// work names the API's role lists (refundflow.ReadCases, ...) for the
// templates, which show a form or a link only to whom the API would take
// it from.
var work = map[string][]refundflow.Role{
	"read_cases":     refundflow.ReadCases,
	"decide_cases":   refundflow.DecideCases,
	"work_tickets":   refundflow.WorkTickets,
	"manage_outages": refundflow.ManageOutages,
	"read_reports":   refundflow.ReadReports,
	"redeliver":      refundflow.RedeliverWebhooks,
}

// May reports whether the signed-in key may do the named work; a name
// that is not one fails the page, so a typo is found by the first render.
func (v view) May(name string) (bool, error) {
	roles, ok := work[name]
	if !ok {
		return false, fmt.Errorf("no work named %q", name)
	}
	return v.Session != nil && v.Session.can(roles...), nil
}

// nav is the menu: the pages the session's role may open (the routes'
// own rule), in this order.
func (s *Server) nav(sess *session, current string) []navItem {
	items := []struct{ href, label string }{
		{"/console/queue", "nav_queue"},
		{"/console/tickets", "nav_tickets"},
		{"/console/outages", "nav_outages"},
		{"/console/finance", "nav_finance"},
		{"/console/analytics", "nav_analytics"},
		{"/console/outbox", "nav_outbox"},
		{"/console/webhooks", "nav_webhooks"},
	}
	var out []navItem
	for _, it := range items {
		if allowed, ok := s.pageRoles[it.href]; ok && sess.can(allowed...) {
			out = append(out, navItem{Href: it.href, Label: it.label, Active: strings.HasPrefix(current, it.href)})
		}
	}
	return out
}

// render writes a page; sess is nil on pages shown before sign-in.
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *session, status int, page string, data any) {
	t, ok := s.pages.byName[page]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	v := view{Page: page, Lang: language(r), Session: sess, Path: r.URL.Path, Data: data, Now: s.Now(), loc: time.UTC}
	if v.Lang == "zh-CN" {
		v.loc = shanghai
	}
	if sess != nil {
		v.CSRF = sess.csrf()
		v.Nav = s.nav(sess, r.URL.Path)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		s.Logger.Error("console page", "page", page, "error", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorPage struct {
	Title, Message string
}

type signinPage struct {
	Error string
}

// failPage answers a request that could not be served, as the API would:
// a refusal with its status and its code's words, a dependency that is
// down 503, anything else 500 (logged, never shown).
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	e := web.Refusal(err)
	if e == nil {
		s.Logger.Error("console request failed", "path", r.URL.Path, "error", err)
		s.render(w, r, nil, http.StatusInternalServerError, "error", errorPage{Title: "error", Message: "internal"})
		return
	}
	if e.Kind == refundflow.EUNAVAILABLE {
		s.Logger.Warn("console: a dependency is unavailable", "path", r.URL.Path, "error", err)
	}
	s.render(w, r, nil, web.StatusOf(e.Kind), "error", errorPage{Title: "error", Message: refusalKey(e.Code)})
}

var shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}
