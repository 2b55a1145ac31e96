// Package auth verifies requests signed with the Huawei Cloud SDK's
// "SDK-HMAC-SHA256" AK/SK scheme and maps the access key to the one project it
// may act in.
package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
)

const (
	// Algorithm is the only signing scheme accepted.
	Algorithm = "SDK-HMAC-SHA256"
	// DateHeader carries the signing time, format DateFormat, UTC.
	DateHeader = "X-Sdk-Date"
	// DateFormat is the layout of DateHeader.
	DateFormat = "20060102T150405Z"
	// ProjectHeader is sent by the SDK next to the project in the path.
	ProjectHeader = "X-Project-Id"

	contentHashHeader = "X-Sdk-Content-Sha256"
	unsignedPayload   = "UNSIGNED-PAYLOAD"

	// DefaultMaxSkew is how far X-Sdk-Date may be from the server clock.
	DefaultMaxSkew = 15 * time.Minute
)

// Identity is who signed an authenticated request.
type Identity struct {
	AccessKey string
	ProjectID string
}

// unauthenticated is a 401. Messages never contain a secret key or a signature.
func unauthenticated(format string, args ...any) *apierr.Error {
	return &apierr.Error{Status: http.StatusUnauthorized, Code: apierr.CodeUnauthorized,
		Msg: "Incorrect IAM authentication information: " + fmt.Sprintf(format, args...)}
}

// Verifier checks request signatures against a fixed set of credentials.
// It implements the API router's Authenticator and is safe for concurrent use.
type Verifier struct {
	keys    map[string]config.Credential
	maxSkew time.Duration
	maxBody int64
	now     func() time.Time
}

// Option adjusts a Verifier.
type Option func(*Verifier)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// WithMaxSkew replaces DefaultMaxSkew.
func WithMaxSkew(d time.Duration) Option { return func(v *Verifier) { v.maxSkew = d } }

// NewVerifier accepts the given credentials. Every access key must be unique and
// have a secret key and a project.
func NewVerifier(creds []config.Credential, opts ...Option) (*Verifier, error) {
	v := &Verifier{keys: make(map[string]config.Credential, len(creds)), maxSkew: DefaultMaxSkew,
		maxBody: apierr.MaxBody, now: time.Now}
	for i, c := range creds {
		switch {
		case c.AccessKey == "":
			return nil, fmt.Errorf("credential %d: accessKey is empty", i)
		case c.SecretKey == "":
			return nil, fmt.Errorf("credential %d (accessKey %s): secretKey is empty", i, c.AccessKey)
		case c.ProjectID == "":
			return nil, fmt.Errorf("credential %d (accessKey %s): projectID is empty", i, c.AccessKey)
		}
		if _, dup := v.keys[c.AccessKey]; dup {
			return nil, fmt.Errorf("credential %d: accessKey %s is listed twice", i, c.AccessKey)
		}
		v.keys[c.AccessKey] = c
	}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// Authenticate verifies r's signature and that the signer may act in
// projectID (the {project_id} of the path): 401 or 403 as an *apierr.Error.
// It reads the body to hash it and puts an identical reader back in r.Body.
func (v *Verifier) Authenticate(r *http.Request, projectID string) error {
	_, err := v.Identify(r, projectID)
	return err
}

// Identify is Authenticate that also says who signed the request.
func (v *Verifier) Identify(r *http.Request, projectID string) (Identity, error) {
	body, err := readBody(r, v.maxBody)
	if err != nil {
		return Identity{}, err
	}
	id, err := v.Verify(r, body)
	if err != nil {
		return Identity{}, err
	}
	if projectID != id.ProjectID {
		return Identity{}, forbidden(id, projectID)
	}
	if hp := r.Header.Get(ProjectHeader); hp != "" && hp != id.ProjectID {
		return Identity{}, forbidden(id, hp)
	}
	return id, nil
}

func forbidden(id Identity, project string) *apierr.Error {
	return &apierr.Error{Status: http.StatusForbidden, Code: apierr.CodeForbidden, Msg: fmt.Sprintf(
		"The IAM user is not authorized to access the API: access key %s may act only in project %s, not in project %s",
		id.AccessKey, id.ProjectID, project)}
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	_ = r.Body.Close()
	if err != nil {
		return nil, unauthenticated("cannot read the request body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, apierr.TooLarge()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// Verify checks the signature of r, whose body is body, and returns the signer.
// It does not check the project. A returned error is always an *apierr.Error.
func (v *Verifier) Verify(r *http.Request, body []byte) (Identity, error) {
	auth, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return Identity{}, unauthenticated("%v", err)
	}
	cred, ok := v.keys[auth.accessKey]
	if !ok {
		return Identity{}, unauthenticated("access key %q does not exist", auth.accessKey)
	}
	if !slices.Contains(auth.signedHeaders, strings.ToLower(DateHeader)) {
		return Identity{}, unauthenticated("header %s must be signed", DateHeader)
	}
	for _, name := range auth.signedHeaders {
		// Go keeps the Host header out of r.Header; canonicalHeaders reads it from r.Host.
		if name != "host" && len(r.Header.Values(name)) == 0 {
			return Identity{}, unauthenticated("header %s is listed in SignedHeaders but not sent", name)
		}
	}
	dateText := r.Header.Get(DateHeader)
	signedAt, err := time.Parse(DateFormat, dateText)
	if err != nil {
		return Identity{}, unauthenticated("header %s %q is not a time like %s", DateHeader, dateText, DateFormat)
	}
	now := v.now()
	if skew := now.Sub(signedAt); skew > v.maxSkew || skew < -v.maxSkew {
		return Identity{}, unauthenticated("request signed at %s, more than %s from server time %s; check the client clock",
			signedAt.UTC().Format(time.RFC3339), v.maxSkew, now.UTC().Format(time.RFC3339))
	}

	payloadHash := hexSHA256(body)
	if claimed := r.Header.Get(contentHashHeader); claimed != "" {
		// The SDK signs this header's value instead of hashing the body. Accept it
		// only when it still binds the body.
		if claimed == unsignedPayload && len(body) > 0 || claimed != unsignedPayload && claimed != payloadHash {
			return Identity{}, unauthenticated("verify aksk signature fail: %s does not match the body", contentHashHeader)
		}
		payloadHash = claimed
	}
	cr, err := canonicalRequest(r, auth.signedHeaders, payloadHash)
	if err != nil {
		return Identity{}, unauthenticated("malformed request URI: %v", err)
	}
	stringToSign := Algorithm + "\n" + dateText + "\n" + hexSHA256([]byte(cr))
	mac := hmac.New(sha256.New, []byte(cred.SecretKey))
	mac.Write([]byte(stringToSign))
	if !hmac.Equal(mac.Sum(nil), auth.signature) {
		return Identity{}, unauthenticated("verify aksk signature fail")
	}
	return Identity{AccessKey: cred.AccessKey, ProjectID: cred.ProjectID}, nil
}

type authorization struct {
	accessKey     string
	signedHeaders []string
	signature     []byte
}

// parseAuthorization reads "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	if h == "" {
		return a, errors.New("missing Authorization header; sign the request with an access key (AK/SK)")
	}
	rest, ok := strings.CutPrefix(h, Algorithm+" ")
	if !ok {
		alg, _, _ := strings.Cut(h, " ")
		return a, fmt.Errorf("unsupported signing algorithm %q; use %s", alg, Algorithm)
	}
	var sig string
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Access":
			a.accessKey = val
		case "SignedHeaders":
			if val != "" {
				a.signedHeaders = strings.Split(val, ";")
			}
		case "Signature":
			sig = val
		}
	}
	if a.accessKey == "" || len(a.signedHeaders) == 0 || sig == "" {
		return a, errors.New("the Authorization header must carry Access, SignedHeaders and Signature")
	}
	for _, name := range a.signedHeaders {
		if name != strings.ToLower(name) || name == "" {
			return a, fmt.Errorf("signed header name %q must be lower case and not empty", name)
		}
	}
	raw, err := hex.DecodeString(sig)
	if err != nil || len(raw) != sha256.Size {
		return a, errors.New("signature is not a hex SHA-256 HMAC")
	}
	a.signature = raw
	return a, nil
}

// AccessKeyOf is the access key a request's Authorization header names, unverified ("" when the
// header is not an SDK-HMAC signature): for elbd's test-only fault injector (F6), which picks the
// calls it faults by key before the router verifies them.
func AccessKeyOf(r *http.Request) string {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return ""
	}
	return a.accessKey
}
