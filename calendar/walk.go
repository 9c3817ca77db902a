package calendar

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"

	"github.com/refundflow/refundflow"
)

// walker reads a generic JSON tree into typed values and records every
// problem with the JSON path of the field at fault. encoding/json alone
// cannot do this: its unknown-field errors carry no path.
type walker struct {
	probs refundflow.Problems
}

// decodeTree parses exactly one JSON value, keeping numbers as text so that
// integers are not rounded through float64.
func decodeTree(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, refundflow.FieldError("", "invalid_json", "invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, refundflow.FieldError("", "invalid_json", "invalid JSON: data after the calendar")
	}
	return v, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object returns v as an object and records any key outside fields as unknown.
func (w *walker) object(v any, path string, fields ...string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		w.probs.Add(path, "invalid_type", "must be an object")
		return nil, false
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !slices.Contains(fields, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.probs.Add(join(path, k), "unknown_field", "unknown field")
	}
	return m, true
}

// value returns the member key of m, recording a problem when a required
// member is missing or null.
func (w *walker) value(m map[string]any, path, key string, required bool) (any, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			w.probs.Add(join(path, key), "required", "required")
		}
		return nil, false
	}
	return v, true
}

func (w *walker) str(m map[string]any, path, key string, required bool) string {
	v, ok := w.value(m, path, key, required)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		w.probs.Add(join(path, key), "invalid_type", "must be a string")
	}
	return s
}

func (w *walker) array(v any, path string) []any {
	a, ok := v.([]any)
	if !ok {
		w.probs.Add(path, "invalid_type", "must be an array")
	}
	return a
}

func (w *walker) date(v any, path string) Date {
	s, ok := v.(string)
	if !ok {
		w.probs.Add(path, "invalid_type", "must be a date string YYYY-MM-DD")
		return Date{}
	}
	d, err := ParseDate(s)
	if err != nil {
		w.probs.Add(path, "invalid_date", "%v", err)
	}
	return d
}
