package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/money"
	"github.com/refundflow/refundflow/policy"
	"github.com/refundflow/refundflow/postgres/sqlgen"
)

// DefaultPolicyName is the policy every order is decided by.
const DefaultPolicyName = "default"

// EnsureDefaultPolicy stores the embedded default policy as version 1 when
// the database has none, in force for any purchase.
func (db *DB) EnsureDefaultPolicy(ctx context.Context) error {
	return ensureDefaultPolicy(ctx, db.q)
}

func ensureDefaultPolicy(ctx context.Context, q *sqlgen.Queries) error {
	v := embeddedDefault()
	_, err := q.InsertPolicy(ctx, sqlgen.InsertPolicyParams{
		Name: v.Name, Version: int32(v.Version), Body: v.Body, InForceFrom: v.InForceFrom, CreatedBy: v.CreatedBy,
	})
	if err != nil && !isNoRows(err) {
		return fmt.Errorf("store default policy: %w", err)
	}
	return nil
}

// embeddedDefault is default@1 as shipped: in force for any purchase.
func embeddedDefault() PolicyVersion {
	p := policy.Default()
	epoch := time.Unix(0, 0).UTC()
	return PolicyVersion{
		Name: p.Name, Version: p.Version, Body: policy.DefaultJSON(),
		InForceFrom: epoch, CreatedBy: "embedded default", CreatedAt: epoch,
	}
}

// PinPolicy names the version of the default policy in force at an
// instant; it is the PolicyPinner the API uses for new orders.
func PinPolicy(ctx context.Context, q *sqlgen.Queries, at time.Time) (string, int, error) {
	row, err := q.GetPolicyInForce(ctx, sqlgen.GetPolicyInForceParams{Name: DefaultPolicyName, At: at})
	if isNoRows(err) {
		return DefaultPolicyName, 1, nil
	}
	if err != nil {
		return "", 0, err
	}
	return row.Name, int(row.Version), nil
}

// Policy returns one stored policy version; default@1 is always available.
func (db *DB) Policy(ctx context.Context, name string, version int) (*policy.Policy, error) {
	row, err := db.q.GetPolicy(ctx, sqlgen.GetPolicyParams{Name: name, Version: int32(version)})
	if isNoRows(err) && name == DefaultPolicyName && version == 1 {
		return policy.Default(), nil
	}
	if err != nil {
		return nil, notFound(err, "policy %s@%d not found", name, version)
	}
	return policy.Parse(row.Body)
}

// CalendarRegistry is the built-in calendars with the stored ones (years
// loaded by admins) merged over them.
func (db *DB) CalendarRegistry(ctx context.Context) (*calendar.Registry, error) {
	reg := calendar.NewRegistry()
	rows, err := db.q.ListCalendars(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		c, err := calendar.Parse(r.Definition)
		if err != nil {
			return nil, fmt.Errorf("stored calendar %s: %w", r.Name, err)
		}
		reg.Merge(c)
	}
	return reg, nil
}

// RefundFacts is what a case's eligibility is decided on, gathered from the
// read model as of now.
type RefundFacts struct {
	Facts   policy.Facts
	Policy  string // name@version pinned on the order
	Order   *refundflow.Order
	Product *refundflow.Product
}

// LoadRefundFacts gathers the order, product, consumption, outages and the
// learner's recent refunds for case refundID.
func (db *DB) LoadRefundFacts(ctx context.Context, refundID string, now time.Time) (*RefundFacts, error) {
	c, err := db.q.GetRefund(ctx, refundID)
	if err != nil {
		return nil, notFound(err, "refund %q not found", refundID)
	}
	// A case is decided as of when the learner asked: one whose workflow
	// started late (the sweeper started it) keeps its windows.
	if c.CreatedAt.Before(now) {
		now = c.CreatedAt
	}
	order, err := db.GetOrder(ctx, c.OrderID)
	if err != nil {
		return nil, err
	}
	product, err := db.GetProduct(ctx, order.ProductID)
	if err != nil {
		return nil, err
	}
	progress, err := db.GetProgress(ctx, order.ID)
	if err != nil {
		return nil, err
	}
	outageHours, err := db.q.LongestOutageHours(ctx, sqlgen.LongestOutageHoursParams{
		Now: now, ProductID: product.ID, PurchasedAt: order.PurchasedAt,
	})
	if err != nil {
		return nil, err
	}
	recent, err := db.q.CountLearnerRefundsSince(ctx, sqlgen.CountLearnerRefundsSinceParams{
		LearnerID: order.LearnerID, RefundID: refundID, Since: now.Add(-90 * 24 * time.Hour),
	})
	if err != nil {
		return nil, err
	}
	// The platform may re-send an order with a purchase time later than the
	// request was made; the policy refuses now < purchased_at, so decide as
	// of the purchase at the earliest.
	factsNow := now
	if factsNow.Before(order.PurchasedAt) {
		factsNow = order.PurchasedAt
	}
	f := policy.Facts{
		Now:    factsNow,
		Reason: policy.Reason(c.Reason),
		Order: policy.Order{
			Amount: order.Amount, Currency: order.Currency, PurchasedAt: order.PurchasedAt,
			RefundedAmount: order.RefundedAmount, Disputed: order.Disputed,
			Product: policy.Product{
				Type: product.Type, LessonsTotal: product.LessonsTotal, SessionsTotal: product.SessionsTotal,
				SessionsHeld: product.SessionsHeld, StartsAt: product.StartsAt, AppointmentAt: product.AppointmentAt,
				NoRefund: product.NoRefund, NoRefundDisclosed: product.NoRefundDisclosed,
			},
			Consumption: policy.Consumption{
				WatchedRatio: progress.WatchedRatio, LessonsCompleted: progress.LessonsCompleted,
				SessionsAttended: progress.SessionsAttended,
			},
			Renewal: order.Renewal,
		},
		OutageHours:       outageHours,
		LearnerRefunds90d: int(recent),
	}
	if product.Type != refundflow.Membership {
		f.Order.Renewal = nil
	}
	return &RefundFacts{Facts: f, Policy: order.Policy, Order: order, Product: product}, nil
}

// PolicyVersion is one stored version of a policy, as published.
type PolicyVersion struct {
	Name    string
	Version int
	// Body is the policy's JSON (the shape of policy/default.json).
	Body json.RawMessage
	// InForceFrom: orders purchased from this instant on pin this version
	// (unless a later version is in force by then).
	InForceFrom time.Time
	CreatedBy   string
	CreatedAt   time.Time
}

func policyVersionFromRow(r sqlgen.Policy) PolicyVersion {
	return PolicyVersion{
		Name: r.Name, Version: int(r.Version), Body: r.Body,
		InForceFrom: r.InForceFrom.UTC(), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
	}
}

// PolicyVersions lists the versions of a policy, oldest first; none for
// an unknown name. The default policy always has its embedded version 1,
// stored or not.
func (db *DB) PolicyVersions(ctx context.Context, name string) ([]PolicyVersion, error) {
	rows, err := db.q.ListPolicyVersions(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("policy %s versions: %w", name, err)
	}
	out := make([]PolicyVersion, 0, len(rows)+1)
	if name == DefaultPolicyName && len(rows) == 0 {
		out = append(out, embeddedDefault())
	}
	for _, r := range rows {
		out = append(out, policyVersionFromRow(r))
	}
	return out, nil
}

// PolicyInForce returns the version of a policy in force for a purchase at
// instant at: the highest version whose in_force_from is not after it.
func (db *DB) PolicyInForce(ctx context.Context, name string, at time.Time) (*policy.Policy, error) {
	row, err := db.q.GetPolicyInForce(ctx, sqlgen.GetPolicyInForceParams{Name: name, At: at})
	if isNoRows(err) && name == DefaultPolicyName {
		return policy.Default(), nil
	}
	if err != nil {
		return nil, notFound(err, "policy %q has no version in force at %s", name, at.UTC().Format(time.RFC3339))
	}
	return policy.Parse(row.Body)
}

// PublishPolicy stores the next version of policy name, in force for
// purchases from the instant inForceFrom returns on. build gets the
// version number the policy will have and returns it checked (or an
// error, and nothing is stored). Concurrent publications of one name are
// serialised, so each gets its own number, and inForceFrom is asked only
// once the name is locked, so "from now" is never before a publication
// that went ahead. A version may not come into force before the one it
// follows (that would silently retire a scheduled version).
func (db *DB) PublishPolicy(ctx context.Context, name string, inForceFrom func() time.Time, createdBy string,
	build func(version int) (*policy.Policy, error)) (*PolicyVersion, error) {
	var out PolicyVersion
	err := db.InTx(ctx, func(q *sqlgen.Queries) error {
		if err := q.LockKey(ctx, "policy:"+name); err != nil {
			return err
		}
		from := inForceFrom()
		if name == DefaultPolicyName {
			if err := ensureDefaultPolicy(ctx, q); err != nil {
				return err
			}
		}
		next := 1
		switch latest, err := q.GetLatestPolicy(ctx, name); {
		case err == nil:
			next = int(latest.Version) + 1
			if from.Before(latest.InForceFrom) {
				return &refundflow.Error{Kind: refundflow.ECONFLICT, Code: "in_force_before_previous", Field: "in_force_from",
					Message: fmt.Sprintf("%s@%d comes into force at %s; a new version may not start before it",
						name, latest.Version, latest.InForceFrom.UTC().Format(time.RFC3339))}
			}
		case !isNoRows(err):
			return err
		}
		p, err := build(next)
		if err != nil {
			return err
		}
		body, err := json.Marshal(p)
		if err != nil {
			return err
		}
		row, err := q.InsertPolicy(ctx, sqlgen.InsertPolicyParams{
			Name: name, Version: int32(next), Body: body, InForceFrom: from, CreatedBy: createdBy,
		})
		if isNoRows(err) {
			return refundflow.Errorf(refundflow.ECONFLICT, "version_conflict", "%s@%d was stored meanwhile; try again", name, next)
		}
		if err != nil {
			return err
		}
		out = policyVersionFromRow(row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("publish policy %s: %w", name, err)
	}
	return &out, nil
}

// PutCalendar folds c into the stored calendar of its name (c's settings
// win, its years replace the same years) or stores it as a new calendar,
// and returns the calendar now in force: the stored one merged over the
// built-in one of that name, as CalendarRegistry builds it. created
// reports a name that was neither built in nor stored. Concurrent PUTs of
// one name are serialised, so years loaded by both survive.
func (db *DB) PutCalendar(ctx context.Context, c *calendar.Calendar) (effective *calendar.Calendar, created bool, err error) {
	var stored *calendar.Calendar
	err = db.InTx(ctx, func(q *sqlgen.Queries) error {
		if err := q.LockKey(ctx, "calendar:"+c.Name()); err != nil {
			return err
		}
		stored = c
		switch row, err := q.GetCalendar(ctx, c.Name()); {
		case err == nil:
			old, err := calendar.Parse(row.Definition)
			if err != nil {
				return fmt.Errorf("stored calendar: %w", err)
			}
			stored = old.Merge(c)
		case isNoRows(err):
			created = true
		default:
			return err
		}
		def, err := json.Marshal(stored.Definition())
		if err != nil {
			return err
		}
		return q.UpsertCalendar(ctx, sqlgen.UpsertCalendarParams{Name: c.Name(), Definition: def})
	})
	if err != nil {
		return nil, false, fmt.Errorf("put calendar %s: %w", c.Name(), err)
	}
	if b, ok := calendar.Builtin(c.Name()); ok {
		return b.Merge(stored), false, nil
	}
	return stored, created, nil
}

// ReplayCase is a case with the facts the read model has for it as of its
// creation (see ReplayCases for which facts are current instead).
type ReplayCase struct {
	ID        string
	CreatedAt time.Time
	// Policy is the name@version pinned on the order.
	Policy string
	Facts  policy.Facts
	// Recorded is the decision the case recorded, if it got that far.
	Recorded *policy.Decision
}

// replayPage is how many cases ReplayCases reads per query.
const replayPage = 500

// CountCasesCreated counts the cases created in [from, to).
func (db *DB) CountCasesCreated(ctx context.Context, from, to time.Time) (int, error) {
	n, err := db.q.CountCasesCreatedBetween(ctx, sqlgen.CountCasesCreatedBetweenParams{FromAt: from, ToAt: to})
	return int(n), err
}

// ReplayCases calls fn for each case created in [from, to), oldest first,
// with its facts as of its creation: Now is the creation (or the purchase,
// if the platform re-sent it later), the refunded amount is what earlier
// cases on the order had refunded by then, the outage hours and the
// learner's refunds in the 90 days before are counted up to then. The
// order, the product and the learner's progress are as they are now: the
// read model keeps no history of them.
func (db *DB) ReplayCases(ctx context.Context, from, to time.Time, fn func(ReplayCase) error) error {
	params := sqlgen.ListCasesForReplayParams{FromAt: from, ToAt: to, MaxRows: replayPage}
	for {
		rows, err := db.q.ListCasesForReplay(ctx, params)
		if err != nil {
			return fmt.Errorf("cases to replay: %w", err)
		}
		for _, r := range rows {
			rc, err := replayCaseFromRow(r)
			if err != nil {
				return err
			}
			if err := fn(rc); err != nil {
				return err
			}
		}
		if len(rows) < replayPage {
			return nil
		}
		last := rows[len(rows)-1]
		params.AfterAt, params.AfterID = &last.CreatedAt, &last.ID
	}
}

func replayCaseFromRow(r sqlgen.ListCasesForReplayRow) (ReplayCase, error) {
	now := r.CreatedAt
	if now.Before(r.PurchasedAt) {
		now = r.PurchasedAt
	}
	f := policy.Facts{
		Now:    now,
		Reason: policy.Reason(r.Reason),
		Order: policy.Order{
			Amount: r.Amount, Currency: money.Currency(r.Currency), PurchasedAt: r.PurchasedAt,
			RefundedAmount: r.RefundedBefore, Disputed: r.Disputed,
			Product: policy.Product{
				Type: refundflow.ProductType(r.ProductType), LessonsTotal: int(r.LessonsTotal),
				SessionsTotal: int(r.SessionsTotal), SessionsHeld: int(r.SessionsHeld),
				StartsAt: r.StartsAt, AppointmentAt: r.AppointmentAt,
				NoRefund: r.NoRefund, NoRefundDisclosed: r.NoRefundDisclosed,
			},
			Consumption: policy.Consumption{
				WatchedRatio: r.WatchedRatio, LessonsCompleted: int(r.LessonsCompleted), SessionsAttended: int(r.SessionsAttended),
			},
		},
		OutageHours:       r.OutageHours,
		LearnerRefunds90d: int(r.LearnerRefunds90d),
	}
	if f.Order.Product.Type == refundflow.Membership && r.RenewalPeriodStart != nil {
		f.Order.Renewal = &refundflow.Renewal{PeriodStart: *r.RenewalPeriodStart, ReminderSentAt: r.RenewalReminderSentAt}
	}
	rc := ReplayCase{
		ID: r.ID, CreatedAt: r.CreatedAt.UTC(), Facts: f,
		Policy: r.PolicyName + "@" + strconv.Itoa(int(r.PolicyVersion)),
	}
	if len(r.Decision) > 0 {
		var d policy.Decision
		if err := json.Unmarshal(r.Decision, &d); err != nil {
			return ReplayCase{}, fmt.Errorf("refund %s decision: %w", r.ID, err)
		}
		rc.Recorded = &d
	}
	return rc, nil
}
