package api

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
)

type jsonRaw = json.RawMessage

// decodeRaw decodes one wrapped object; type errors name the field as key.field.
func decodeRaw(raw json.RawMessage, key string, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := apierr.FieldPath(te)
			if field == "" {
				return apierr.Invalid("%q must be a JSON object", key)
			}
			return apierr.Invalid("%s.%s must be a JSON %s, got %s", key, field, te.Type.Kind(), te.Value)
		}
		return apierr.Invalid("malformed %q object: %v", key, err)
	}
	return nil
}

// orNull is a field where an explicit null matters: set is false when the key is absent; null
// gives set=true and the zero value (so for a string, null and "" mean the same). (A non-pointer
// field, so that encoding/json calls UnmarshalJSON for null too.)
type orNull[T any] struct {
	set   bool
	value T
}

func (n *orNull[T]) UnmarshalJSON(b []byte) error {
	n.set = true
	if string(b) == "null" {
		var zero T
		n.value = zero
		return nil
	}
	return json.Unmarshal(b, &n.value)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on values decoded from JSON
	}
	return b
}

func itoa(i int) string { return strconv.Itoa(i) }
