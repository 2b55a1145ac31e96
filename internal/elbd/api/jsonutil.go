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
			field := te.Field
			if field == "" {
				return apierr.Invalid("%q must be a JSON object", key)
			}
			return apierr.Invalid("%s.%s must be a JSON %s, got %s", key, field, te.Type.Kind(), te.Value)
		}
		return apierr.Invalid("malformed %q object: %v", key, err)
	}
	return nil
}

// jsonNull is a string field where an explicit null matters: set is false when the key is
// absent; a null or "" value gives set=true, value="". (A non-pointer field, so that encoding/json
// calls UnmarshalJSON for null too.)
type jsonNull struct {
	set   bool
	value string
}

func (n *jsonNull) UnmarshalJSON(b []byte) error {
	n.set = true
	if string(b) == "null" {
		n.value = ""
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

// nullInt is an int field where null matters, like jsonNull.
type nullInt struct {
	set   bool
	value int
}

func (n *nullInt) UnmarshalJSON(b []byte) error {
	n.set = true
	if string(b) == "null" {
		n.value = 0
		return nil
	}
	return json.Unmarshal(b, &n.value)
}
