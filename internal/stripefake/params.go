package stripefake

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// maxBody bounds a request body; Stripe's own limit is far lower than any
// refund request could need.
const maxBody = 1 << 20

// Stripe's metadata limits; enforcing them here catches a product that puts
// free text into metadata before real Stripe does.
const (
	maxMetadataKeys     = 50
	maxMetadataKeyLen   = 40
	maxMetadataValueLen = 500
)

// readParams returns the request's parameters: the query for GET, the
// form-encoded body (and query) for POST, as stripe-go sends them.
func readParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &apiError{status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Message: "Request body too large."}
		}
		return nil, invalidRequest("", "", "Invalid request body: %v", err)
	}
	return r.Form, nil
}

// paramBase is the name of a parameter without its brackets:
// "metadata[case_id]" → "metadata", "expand[0]" → "expand".
func paramBase(key string) string {
	if i := strings.IndexByte(key, '['); i > 0 {
		return key[:i]
	}
	return key
}

// allowParams refuses any parameter not in allowed, as Stripe does; the first
// unknown name in sorted order is reported so the error is stable.
func allowParams(p url.Values, allowed ...string) error {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, paramBase(k)) {
			return unknownParameter(k)
		}
	}
	return nil
}

func intParam(p url.Values, name string) (int64, bool, error) {
	if !p.Has(name) {
		return 0, false, nil
	}
	v, err := strconv.ParseInt(p.Get(name), 10, 64)
	if err != nil {
		return 0, true, invalidRequest(name, "parameter_invalid_integer", "Invalid integer: %s", p.Get(name))
	}
	return v, true, nil
}

func boolParam(p url.Values, name string) (bool, error) {
	if !p.Has(name) {
		return false, nil
	}
	switch p.Get(name) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidRequest(name, "", "Invalid boolean: %s", p.Get(name))
}

// metadataParam reads metadata[k]=v pairs. An empty value unsets that key on
// update; a bare empty "metadata" unsets every key (clear is true).
func metadataParam(p url.Values) (md map[string]string, clear bool, err error) {
	md = map[string]string{}
	for k, vs := range p {
		if k == "metadata" {
			if vs[0] != "" {
				return nil, false, invalidRequest("metadata", "", "Invalid object")
			}
			clear = true
			continue
		}
		if paramBase(k) != "metadata" {
			continue
		}
		key := strings.TrimSuffix(strings.TrimPrefix(k, "metadata["), "]")
		if len(key) > maxMetadataKeyLen {
			return nil, false, invalidRequest(k, "", "Metadata keys can have up to %d characters.", maxMetadataKeyLen)
		}
		if len(vs[0]) > maxMetadataValueLen {
			return nil, false, invalidRequest(k, "", "Metadata values can have up to %d characters.", maxMetadataValueLen)
		}
		md[key] = vs[0]
	}
	if len(md) > maxMetadataKeys {
		return nil, false, invalidRequest("metadata", "", "You can have up to %d metadata keys.", maxMetadataKeys)
	}
	return md, clear, nil
}

// expandParam returns the paths of expand[]=... in a stable order.
func expandParam(p url.Values) []string {
	var paths []string
	for k, vs := range p {
		if paramBase(k) == "expand" {
			paths = append(paths, vs...)
		}
	}
	sort.Strings(paths)
	return paths
}
