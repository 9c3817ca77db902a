package jsonwalk_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/jsonwalk"
)

// problem is the part of a recorded *refundflow.Error that callers rely on.
type problem struct{ field, code, message string }

func problems(ps refundflow.Problems) []problem {
	var out []problem
	for _, p := range ps {
		out = append(out, problem{p.Field, p.Code, p.Message})
	}
	return out
}

// root decodes doc and returns its top-level object without checking fields.
func root(t *testing.T, doc string) map[string]any {
	t.Helper()
	v, err := jsonwalk.Decode([]byte(doc), "test")
	if err != nil {
		t.Fatalf("Decode(%s): %v", doc, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("Decode(%s) = %T, want an object", doc, v)
	}
	return m
}

func TestWalkerRecordsEveryProblemWithItsPath(t *testing.T) {
	at := time.Date(2026, 2, 14, 10, 0, 0, 0, time.FixedZone("", 8*3600))
	tests := []struct {
		name  string
		doc   string
		read  func(w *jsonwalk.Walker, m map[string]any) any
		want  any
		probs []problem
	}{
		{
			name: "unknown fields are named by their nested path, sorted",
			doc:  `{"order": {"amount": 1, "zeta": 0, "colour": "red"}}`,
			read: func(w *jsonwalk.Walker, m map[string]any) any {
				v, _ := w.Value(m, "", "order", true)
				o, _ := w.Object(v, "order", "amount")
				return w.Int64(o, "order", "amount", true)
			},
			want: int64(1),
			probs: []problem{
				{"order.colour", "unknown_field", "unknown field"},
				{"order.zeta", "unknown_field", "unknown field"},
			},
		},
		{
			name: "an object of the wrong type is reported at its own path",
			doc:  `{"order": [1]}`,
			read: func(w *jsonwalk.Walker, m map[string]any) any {
				v, _ := w.Value(m, "", "order", true)
				o, ok := w.Object(v, "order", "amount")
				return o == nil && !ok
			},
			want:  true,
			probs: []problem{{"order", "invalid_type", "must be an object"}},
		},
		{
			name: "wrong scalar types",
			doc:  `{"s": 1, "b": "yes", "i": "5", "f": 1.5, "n": true, "a": {}, "t": 20260214}`,
			read: func(w *jsonwalk.Walker, m map[string]any) any {
				s := w.Str(m, "", "s", true)
				b := w.Bool(m, "", "b", true)
				i := w.Int64(m, "", "i", true)
				f := w.Int64(m, "", "f", true)
				n := w.Number(m, "", "n", true)
				v, _ := w.Value(m, "", "a", true)
				a := w.Array(v, "a")
				_, ok := w.Time(m, "", "t", true)
				return []any{s, b, i, f, n, a == nil, ok}
			},
			want: []any{"", false, int64(0), int64(0), 0.0, true, false},
			probs: []problem{
				{"s", "invalid_type", "must be a string"},
				{"b", "invalid_type", "must be true or false"},
				{"i", "invalid_type", "must be a whole number"},
				{"f", "invalid_type", "must be a whole number, got 1.5"},
				{"n", "invalid_type", "must be a number"},
				{"a", "invalid_type", "must be an array"},
				{"t", "invalid_type", "must be an RFC 3339 time string"},
			},
		},
		{
			name: "a time that is not RFC 3339",
			doc:  `{"now": "2026-02-14 10:00"}`,
			read: func(w *jsonwalk.Walker, m map[string]any) any {
				return w.OptionalTime(m, "", "now")
			},
			want: (*time.Time)(nil),
			probs: []problem{{"now", "invalid_time",
				`"2026-02-14 10:00" is not an RFC 3339 time such as 2026-02-14T10:00:00+08:00`}},
		},
		{
			name: "missing or null required members are reported, optional ones are not",
			doc:  `{"order": {"currency": null}}`,
			read: func(w *jsonwalk.Walker, m map[string]any) any {
				v, _ := w.Value(m, "", "order", true)
				o, _ := w.Object(v, "order", "amount", "currency", "note")
				return []any{
					w.Int64(o, "order", "amount", true), w.Str(o, "order", "currency", true),
					w.Str(o, "order", "note", false), w.OptionalTime(o, "order", "starts_at"),
				}
			},
			want: []any{int64(0), "", "", (*time.Time)(nil)},
			probs: []problem{
				{"order.amount", "required", "required"},
				{"order.currency", "required", "required"},
			},
		},
		{
			name: "integers are read from their text, never rounded through float64",
			doc:  `{"odd": 9007199254740993, "max": 9223372036854775807}`,
			read: func(w *jsonwalk.Walker, m map[string]any) any {
				return []int64{w.Int64(m, "", "odd", true), w.Int64(m, "", "max", true)}
			},
			want: []int64{9007199254740993, 9223372036854775807},
		},
		{
			name: "numbers beyond their type are out of range",
			doc:  `{"big": 9223372036854775808, "count": 2147483648}`,
			read: func(w *jsonwalk.Walker, m map[string]any) any {
				w.Int64(m, "", "big", true)
				return w.Count(m, "", "count", true)
			},
			want: 0,
			probs: []problem{
				{"big", "invalid_type", "must be a whole number, got 9223372036854775808"},
				{"count", "out_of_range", "2147483648 is out of range"},
			},
		},
		{
			name: "a float beyond float64 is out of range",
			doc:  `{"ratio": 1e400}`,
			read: func(w *jsonwalk.Walker, m map[string]any) any {
				w.Number(m, "", "ratio", true)
				return nil
			},
			probs: []problem{{"ratio", "out_of_range", "1e400 is out of range"}},
		},
		{
			name: "well-typed values are read without problems",
			doc:  `{"s": "x", "b": true, "n": 0.25, "c": -3, "t": "2026-02-14T10:00:00+08:00", "a": [1]}`,
			read: func(w *jsonwalk.Walker, m map[string]any) any {
				v, _ := w.Value(m, "", "a", true)
				return []any{
					w.Str(m, "", "s", true), w.Bool(m, "", "b", true), w.Number(m, "", "n", true),
					w.Count(m, "", "c", true), w.OptionalTime(m, "", "t").Equal(at), len(w.Array(v, "a")),
				}
			},
			want: []any{"x", true, 0.25, -3, true, 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w jsonwalk.Walker
			got := tc.read(&w, root(t, tc.doc))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("read %s = %#v, want %#v", tc.doc, got, tc.want)
			}
			if gotProbs := problems(w.Problems); !reflect.DeepEqual(gotProbs, tc.probs) {
				t.Errorf("problems for %s:\n got %q\nwant %q", tc.doc, gotProbs, tc.probs)
			}
		})
	}
}

func TestDecodeAcceptsExactlyOneValue(t *testing.T) {
	tests := []struct {
		doc     string
		message string // "" when the document is accepted
	}{
		{doc: ` {"a": 1} `},
		{doc: `{"a": 1} {"b": 2}`, message: "invalid JSON: data after the policy"},
		{doc: `{"a": 1} x`, message: "invalid JSON: data after the policy"},
		{doc: `{"a": 1`, message: "invalid JSON: unexpected EOF"},
		{doc: ``, message: "invalid JSON: EOF"},
	}
	for _, tc := range tests {
		_, err := jsonwalk.Decode([]byte(tc.doc), "policy")
		if tc.message == "" {
			if err != nil {
				t.Errorf("Decode(%q): %v", tc.doc, err)
			}
			continue
		}
		var e *refundflow.Error
		if !errors.As(err, &e) {
			t.Errorf("Decode(%q) = %v, want a *refundflow.Error", tc.doc, err)
			continue
		}
		if e.Kind != refundflow.EINVALID || e.Code != "invalid_json" || e.Field != "" || e.Message != tc.message {
			t.Errorf("Decode(%q) = %+v, want invalid_json %q with no field", tc.doc, e, tc.message)
		}
	}
}

func TestDecodeKeepsNumbersAsText(t *testing.T) {
	v, err := jsonwalk.Decode([]byte(`{"amount": 9007199254740993}`), "facts")
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(map[string]any)["amount"]; got != any(json.Number("9007199254740993")) {
		t.Errorf("amount = %#v, want json.Number 9007199254740993", got)
	}
}
