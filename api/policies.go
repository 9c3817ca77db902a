package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres"
)

// Limits of POST /v1/policies/simulate.
const (
	defaultSimulateExamples = 10
	maxSimulateExamples     = 100
	// maxSimulatedCases keeps one simulation to seconds; a busier range is
	// split by the admin.
	maxSimulatedCases = 100_000
	maxSkippedShown   = 100
)

// Policy version statuses, for purchases made now.
const (
	policyCurrent    = "current"    // new orders pin it
	policyScheduled  = "scheduled"  // comes into force later
	policySuperseded = "superseded" // a later version is in force; orders that pinned it keep it
)

// policyVersionJSON describes one version of a policy.
type policyVersionJSON struct {
	Name        string    `json:"name"`
	Version     int       `json:"version"`
	Status      string    `json:"status"`
	InForceFrom time.Time `json:"in_force_from"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// policyJSON is one version with its body, and every version of the policy.
type policyJSON struct {
	policyVersionJSON
	Policy   json.RawMessage     `json:"policy"`
	Versions []policyVersionJSON `json:"versions"`
}

// policyView shows version shown of a policy with versions (oldest first)
// as of now.
func policyView(versions []postgres.PolicyVersion, shown int, now time.Time) policyJSON {
	current := currentVersion(versions, now)
	out := policyJSON{Versions: make([]policyVersionJSON, 0, len(versions))}
	for i, v := range versions {
		status := policySuperseded
		switch {
		case i == current:
			status = policyCurrent
		case i > current:
			status = policyScheduled
		}
		vj := policyVersionJSON{Name: v.Name, Version: v.Version, Status: status,
			InForceFrom: v.InForceFrom, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt}
		out.Versions = append(out.Versions, vj)
		if i == shown {
			out.policyVersionJSON, out.Policy = vj, v.Body
		}
	}
	return out
}

// currentVersion is the index of the version in force for a purchase now
// (as postgres.PinPolicy picks it), or -1 when none is yet.
func currentVersion(versions []postgres.PolicyVersion, now time.Time) int {
	current := -1
	for i, v := range versions {
		if !v.InForceFrom.After(now) {
			current = i
		}
	}
	return current
}

// getPolicy shows the version in force now (or ?version=N) and lists them all.
func (s *Server) getPolicy(c *gin.Context) {
	name := c.Param("name")
	versions, err := s.DB.PolicyVersions(c.Request.Context(), name)
	if err != nil {
		s.fail(c, err)
		return
	}
	if len(versions) == 0 {
		s.fail(c, refundflow.Errorf(refundflow.ENOTFOUND, "policy_not_found", "policy %q not found", name))
		return
	}
	now := s.Now().UTC()
	shown := currentVersion(versions, now)
	if shown < 0 {
		shown = len(versions) - 1
	}
	if q, ok := c.GetQuery("version"); ok {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			s.fail(c, refundflow.FieldError("version", "invalid_version", "%q is not a version number (1, 2, ...)", q))
			return
		}
		shown = -1
		for i, v := range versions {
			if v.Version == n {
				shown = i
			}
		}
		if shown < 0 {
			s.fail(c, refundflow.Errorf(refundflow.ENOTFOUND, "policy_not_found", "policy %s@%d not found", name, n))
			return
		}
	}
	c.JSON(http.StatusOK, policyView(versions, shown, now))
}

// putPolicy publishes a new version of a policy. The body is a policy in
// the shape of policy/default.json; its name may be left out (it is the
// URL's) and so may its version (the server assigns the next one; a
// version that is given must be that one, so of two admins who both read
// version N and send N+1, the second is told to look again). The version
// comes into force now, or at the future instant ?in_force_from= names.
func (s *Server) putPolicy(c *gin.Context) {
	var raw json.RawMessage
	if err := decode(c, &raw); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	name := c.Param("name")
	inForceFrom := func() time.Time { return s.Now().UTC() }
	if q, ok := c.GetQuery("in_force_from"); ok {
		t, err := time.Parse(time.RFC3339Nano, q)
		switch {
		case err != nil:
			s.fail(c, refundflow.FieldError("in_force_from", "invalid_time", "%q is not an RFC 3339 time such as 2026-07-01T00:00:00+08:00", q))
			return
		case t.Before(s.Now()):
			s.fail(c, refundflow.FieldError("in_force_from", "in_the_past",
				"%s has passed; a version comes into force now or later, so orders already placed keep theirs", q))
			return
		}
		inForceFrom = func() time.Time { return t.UTC() }
	}
	cals, err := s.DB.CalendarRegistry(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	key := caller(c)
	published, err := s.DB.PublishPolicy(ctx, name, inForceFrom, key.Name+" ("+key.ID+")", func(version int) (*policy.Policy, error) {
		b := newJSONBody(raw)
		if err := b.fill("name", name); err != nil {
			return nil, err
		}
		if given, ok := b.member("version"); ok {
			if n, isNum := given.(json.Number); isNum && n.String() != strconv.Itoa(version) {
				return nil, &refundflow.Error{Kind: refundflow.ECONFLICT, Code: "version_conflict", Field: "version",
					Message: "is " + n.String() + " but the next version of " + name + " is " + strconv.Itoa(version) + "; send it or leave version out"}
			}
		} else {
			b.set("version", json.Number(strconv.Itoa(version)))
		}
		return parsePolicy(b.bytes(), "", cals)
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	versions, err := s.DB.PolicyVersions(ctx, name)
	if err != nil {
		s.fail(c, err)
		return
	}
	shown := len(versions) - 1
	for i, v := range versions {
		if v.Version == published.Version {
			shown = i
		}
	}
	c.JSON(http.StatusCreated, policyView(versions, shown, s.Now().UTC()))
}

// parsePolicy reads a policy strictly and checks its calendar exists; an
// unknown calendar is 422 (the JSON is fine, the world lacks the calendar).
// Fields are named under prefix.
func parsePolicy(data []byte, prefix string, cals *calendar.Registry) (*policy.Policy, error) {
	p, err := policy.Parse(data)
	if err != nil {
		return nil, underField(err, prefix)
	}
	if err := p.CheckCalendar(cals); err != nil {
		e := underField(err, prefix)
		e.Kind = refundflow.EUNPROCESSABLE
		return nil, e
	}
	return p, nil
}

// evaluatePolicy is a dry run: the decision `refundflow policy eval` would
// print for the facts, byte for byte, under the default policy in force
// now or ?policy=NAME@VERSION.
func (s *Server) evaluatePolicy(c *gin.Context) {
	ctx := c.Request.Context()
	var p *policy.Policy
	var err error
	if ref, ok := c.GetQuery("policy"); ok {
		name, version, refErr := policy.ParseRef(ref)
		if refErr != nil {
			s.fail(c, refundflow.FieldError("policy", "invalid_policy_ref", "%v", refErr))
			return
		}
		p, err = s.DB.Policy(ctx, name, version)
	} else {
		p, err = s.DB.PolicyInForce(ctx, postgres.DefaultPolicyName, s.Now())
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	var raw json.RawMessage
	if err := decode(c, &raw); err != nil {
		s.fail(c, err)
		return
	}
	facts, err := policy.DecodeFacts(raw)
	if err != nil {
		s.fail(c, err)
		return
	}
	cals, err := s.DB.CalendarRegistry(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	d, err := policy.Evaluate(p, facts, cals)
	if err != nil {
		s.fail(c, err)
		return
	}
	// The CLI does not escape <, > and & either.
	c.PureJSON(http.StatusOK, d)
}

// simulateRequest is the body of POST /v1/policies/simulate.
type simulateRequest struct {
	// Policy is the proposal: a policy body whose name defaults to
	// "default" and whose version defaults to the next one of that name.
	Policy   json.RawMessage `json:"policy"`
	From     *string         `json:"from"`
	To       *string         `json:"to"`
	Examples *int            `json:"examples"`
}

// simulateJSON is the what-if report.
type simulateJSON struct {
	Policy   string              `json:"policy"`
	From     time.Time           `json:"from"`
	To       time.Time           `json:"to"`
	Baseline string              `json:"baseline"`
	Facts    factsBasisJSON      `json:"facts"`
	Cases    int                 `json:"cases"`
	Replayed int                 `json:"replayed"`
	Skipped  int                 `json:"skipped"`
	Changed  int                 `json:"changed"`
	By       policy.ChangeCounts `json:"by"`
	// RecordedDiffers counts cases whose recorded decision differs from
	// their pinned version re-evaluated here: their facts have moved since.
	RecordedDiffers int                    `json:"recorded_differs"`
	Currencies      []policy.CurrencyDelta `json:"currencies"`
	Rules           []policy.RuleChange    `json:"rules"`
	Examples        []policy.Example       `json:"examples"`
	SkippedCases    []skippedCaseJSON      `json:"skipped_cases"`
}

type factsBasisJSON struct {
	AsOfCaseCreation []string `json:"as_of_case_creation"`
	Current          []string `json:"current"`
	Note             string   `json:"note"`
}

type skippedCaseJSON struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// replayBasis says which facts a simulation could rebuild as they were and
// which it takes as they are now (postgres.ReplayCases).
var replayBasis = factsBasisJSON{
	AsOfCaseCreation: []string{"now", "order.refunded_amount", "outage_hours", "learner_refunds_90d"},
	Current: []string{"order.amount", "order.currency", "order.purchased_at", "order.disputed", "order.renewal",
		"order.product", "order.consumption"},
	Note: "Each case is replayed as of its creation, but the read model keeps no history of orders, products " +
		"and progress: they are taken as they are now, so a learner who kept watching after asking looks more " +
		"consumed than they were. Both policies see the same facts, so every change reported is the policy's.",
}

// simulatePolicy replays a proposed policy over the cases created in
// [from, to) and compares it with the version each case's order pinned,
// re-evaluated on the same facts.
func (s *Server) simulatePolicy(c *gin.Context) {
	var req simulateRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	var pr refundflow.Problems
	if len(req.Policy) == 0 || bytes.Equal(req.Policy, []byte("null")) {
		pr.Add("policy", "required", "required: the proposed policy, in the shape of GET /v1/policies/default's policy")
	}
	from := requireTime(&pr, "from", req.From)
	to := requireTime(&pr, "to", req.To)
	if !from.IsZero() && !to.IsZero() {
		switch {
		case !from.Before(to):
			pr.Add("to", "empty_range", "must be after from (the range is [from, to))")
		case to.After(from.AddDate(1, 0, 0)):
			pr.Add("to", "range_too_long", "the range may span at most one year")
		}
	}
	examples := defaultSimulateExamples
	if req.Examples != nil {
		examples = *req.Examples
		if examples < 0 || examples > maxSimulateExamples {
			pr.Add("examples", "out_of_range", "%d is outside 0..%d", examples, maxSimulateExamples)
		}
	}
	if err := pr.Err(); err != nil {
		s.fail(c, err)
		return
	}

	ctx := c.Request.Context()
	cals, err := s.DB.CalendarRegistry(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	proposed, err := s.proposal(ctx, req.Policy, cals)
	if err != nil {
		s.fail(c, err)
		return
	}
	total, err := s.DB.CountCasesCreated(ctx, from, to)
	if err != nil {
		s.fail(c, err)
		return
	}
	if total > maxSimulatedCases {
		s.fail(c, &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "too_many_cases", Field: "from",
			Message: "the range holds " + strconv.Itoa(total) + " cases, more than " + strconv.Itoa(maxSimulatedCases) + " a simulation replays; split it"})
		return
	}

	out := simulateJSON{Policy: proposed.ID(), From: from, To: to, Facts: replayBasis, SkippedCases: []skippedCaseJSON{},
		Baseline: "the policy version each case's order pinned, re-evaluated on the same facts"}
	cmp := policy.NewComparison(examples)
	pinned := map[string]*policy.Policy{}
	skip := func(id string, err error) {
		out.Skipped++
		if len(out.SkippedCases) < maxSkippedShown {
			out.SkippedCases = append(out.SkippedCases, skippedCaseJSON{ID: id, Code: refundflow.ErrorCode(err), Message: err.Error()})
		}
	}
	err = s.DB.ReplayCases(ctx, from, to, func(rc postgres.ReplayCase) error {
		out.Cases++
		old, ok := pinned[rc.Policy]
		if !ok {
			if name, version, refErr := policy.ParseRef(rc.Policy); refErr == nil {
				p, err := s.DB.Policy(ctx, name, version)
				// A missing or unreadable version skips its cases; a
				// database failure ends the simulation.
				if err != nil && refundflow.ErrorKind(err) == refundflow.EINTERNAL {
					return err
				}
				old = p
			}
			pinned[rc.Policy] = old
		}
		if old == nil {
			skip(rc.ID, refundflow.Errorf(refundflow.ENOTFOUND, "pinned_policy_not_found", "the order pinned %s, which is not stored", rc.Policy))
			return nil
		}
		before, err := policy.Evaluate(old, rc.Facts, cals)
		if err != nil {
			skip(rc.ID, err)
			return nil
		}
		after, err := policy.Evaluate(proposed, rc.Facts, cals)
		if err != nil {
			skip(rc.ID, err)
			return nil
		}
		cmp.Add(rc.ID, before, after)
		if rc.Recorded != nil && policy.Changed(*rc.Recorded, before) {
			out.RecordedDiffers++
		}
		return nil
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	r := cmp.Report()
	out.Replayed, out.Changed, out.By = r.Cases, r.Changed, r.By
	out.Currencies, out.Rules, out.Examples = r.Currencies, r.Rules, r.Examples
	c.JSON(http.StatusOK, out)
}

// proposal reads the policy of a simulation: its name defaults to the
// default policy's, its version to the one publishing it would get.
func (s *Server) proposal(ctx context.Context, raw json.RawMessage, cals *calendar.Registry) (*policy.Policy, error) {
	b := newJSONBody(raw)
	name := postgres.DefaultPolicyName
	if v, ok := b.member("name"); ok {
		if given, isStr := v.(string); isStr {
			name = given
		}
	} else {
		b.set("name", name)
	}
	if _, ok := b.member("version"); !ok {
		versions, err := s.DB.PolicyVersions(ctx, name)
		if err != nil {
			return nil, err
		}
		next := 1
		if len(versions) > 0 {
			next = versions[len(versions)-1].Version + 1
		}
		b.set("version", json.Number(strconv.Itoa(next)))
	}
	return parsePolicy(b.bytes(), "policy", cals)
}

// putCalendar loads calendar data: for a built-in or stored calendar the
// years given replace those years and the settings given replace the
// settings; another name defines a new calendar. The name may be left out
// of the body (it is the URL's). The answer is the calendar now in force.
func (s *Server) putCalendar(c *gin.Context) {
	var raw json.RawMessage
	if err := decode(c, &raw); err != nil {
		s.fail(c, err)
		return
	}
	b := newJSONBody(raw)
	if err := b.fill("name", c.Param("name")); err != nil {
		s.fail(c, err)
		return
	}
	cal, err := calendar.Parse(b.bytes())
	if err != nil {
		s.fail(c, err)
		return
	}
	effective, created, err := s.DB.PutCalendar(c.Request.Context(), cal)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(createdOrOK(created), effective.Definition())
}

// getCalendar shows a calendar as in force: built in, with the data admins
// loaded merged over it. The answer can be sent back with PUT.
func (s *Server) getCalendar(c *gin.Context) {
	cals, err := s.DB.CalendarRegistry(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	cal, ok := cals.Get(c.Param("name"))
	if !ok {
		s.fail(c, refundflow.Errorf(refundflow.ENOTFOUND, "calendar_not_found", "calendar %q not found (known: %s)", c.Param("name"), strings.Join(cals.Names(), ", ")))
		return
	}
	c.JSON(http.StatusOK, cal.Definition())
}

// jsonBody is a request body held as a generic JSON object, so the server
// can fill in members the client may leave out before the strict domain
// parser reads it. A body that is not an object is kept as it is, for the
// parser to refuse with its own words.
type jsonBody struct {
	raw json.RawMessage
	obj map[string]any
}

func newJSONBody(raw json.RawMessage) *jsonBody {
	b := &jsonBody{raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers go back out exactly as they came
	var obj map[string]any
	if dec.Decode(&obj) == nil {
		b.obj = obj
	}
	return b
}

// member returns a member that is present and not null.
func (b *jsonBody) member(key string) (any, bool) {
	v, ok := b.obj[key]
	return v, ok && v != nil
}

func (b *jsonBody) set(key string, v any) {
	if b.obj != nil {
		b.obj[key] = v
	}
}

// fill sets a string member the URL already names; a body that names
// another value is refused. A value of the wrong type is left for the
// parser to report.
func (b *jsonBody) fill(key, value string) error {
	v, ok := b.member(key)
	if !ok {
		b.set(key, value)
		return nil
	}
	if s, isStr := v.(string); isStr && s != value {
		return refundflow.FieldError(key, key+"_mismatch", "is %q but the URL names %q", s, value)
	}
	return nil
}

func (b *jsonBody) bytes() []byte {
	if b.obj == nil {
		return b.raw
	}
	out, err := json.Marshal(b.obj)
	if err != nil {
		return b.raw // cannot happen: the object came from JSON
	}
	return out
}

// underField returns err as a *refundflow.Error whose fields (and its
// details') sit under prefix, e.g. "calendar" → "policy.calendar".
func underField(err error, prefix string) *refundflow.Error {
	var e *refundflow.Error
	if !errors.As(err, &e) {
		return refundflow.Errorf(refundflow.EINVALID, "invalid", "%v", err)
	}
	out := *e
	out.Field = joinField(prefix, e.Field)
	out.Details = make([]*refundflow.Error, len(e.Details))
	for i, d := range e.Details {
		dd := *d
		dd.Field = joinField(prefix, d.Field)
		out.Details[i] = &dd
	}
	return &out
}

func joinField(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}
