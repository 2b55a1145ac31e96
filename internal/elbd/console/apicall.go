package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// inProcessKey marks a request the console itself hands to the API handler; its value is the
// project of the console session. The key is unexported: nothing outside this package, and so no
// request from the network, can carry it.
type inProcessKey struct{}

// Trust wraps the API's authenticator (O12): a request the console hands to the API in-process acts in
// the project of the key its operator logged in with, and nowhere else (403, as a key outside its
// project); every other request is checked by next (the SDK-HMAC verifier).
func Trust(next api.Authenticator) api.Authenticator { return trusted{next} }

type trusted struct{ next api.Authenticator }

func (t trusted) Authenticate(r *http.Request, projectID string) error {
	project, ok := r.Context().Value(inProcessKey{}).(string)
	if !ok {
		return t.next.Authenticate(r, projectID)
	}
	if project != projectID {
		return &apierr.Error{Status: http.StatusForbidden, Code: apierr.CodeForbidden,
			Msg: fmt.Sprintf("the console session acts in project %s, not %s", project, projectID)}
	}
	return nil
}

// APIError is the API's refusal of a console form, in its own words.
type APIError struct {
	Status int
	apierr.Envelope
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d, %s)", e.ErrorMsg, e.Status, e.ErrorCode)
}

// call sends method path (under /{v3|v2}/{project}/elb/: the API family of the load balancer it
// changes) with body, as JSON, to the API handler in the session's project, and decodes the answer
// into out (nil: ignored). A refusal is an *APIError.
func (c *Console) call(ctx context.Context, s *session, family store.Family, method, path string, body, out any) error {
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			return err
		}
	}
	ctx = context.WithValue(ctx, inProcessKey{}, s.project)
	req, err := http.NewRequestWithContext(ctx, method, "/"+string(family)+"/"+s.project+"/elb/"+path, &rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "console"
	rec := apierr.NewRecorder()
	c.o.API.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		e := &APIError{Status: rec.Code}
		if json.Unmarshal(rec.Body.Bytes(), &e.Envelope) != nil || e.ErrorMsg == "" {
			e.ErrorMsg = http.StatusText(rec.Code)
		}
		return e
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(rec.Body.Bytes(), out)
}
