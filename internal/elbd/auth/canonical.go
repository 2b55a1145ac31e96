package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// The canonical request below is rebuilt from what arrives on the wire so that it
// equals, byte for byte, the one the official SDK's signer (core/auth/signer)
// builds from its request object before sending:
//
//	METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n HEX(SHA256(body))
//
// URI: every path segment escaped, always ending in "/".
// QUERY: keys sorted, each key's values sorted, "k=v" joined by "&".
// HEADERS: for each signed header (lower case, sorted) "name:value" lines, values trimmed and sorted.

// canonicalRequest builds the string whose hash the client signed.
func canonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) (string, error) {
	uri, err := canonicalURI(r.URL)
	if err != nil {
		return "", err
	}
	query, err := canonicalQuery(r.URL.RawQuery)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	b.WriteString(canonicalHeaders(r, signedHeaders))
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), nil
}

// canonicalURI works on the escaped path so that an encoded "/" inside a segment
// stays inside its segment, as it was when the client signed it.
func canonicalURI(u *url.URL) (string, error) {
	segments := strings.Split(u.EscapedPath(), "/")
	for i, s := range segments {
		raw, err := url.PathUnescape(s)
		if err != nil {
			return "", err
		}
		segments[i] = escape(raw)
	}
	p := strings.Join(segments, "/")
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, nil
}

func canonicalQuery(rawQuery string) (string, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), values[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(parts, "&"), nil
}

// canonicalHeaders ends with a newline after the last header line, as the SDK's does.
func canonicalHeaders(r *http.Request, signedHeaders []string) string {
	var lines []string
	for _, name := range signedHeaders {
		var values []string
		if name == "host" {
			// Go moves the Host header out of r.Header.
			values = []string{r.Host}
		} else {
			values = append(values, r.Header.Values(name)...)
		}
		sort.Strings(values)
		for _, v := range values {
			lines = append(lines, name+":"+strings.TrimSpace(v))
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func hexSHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// escape percent-encodes every byte except unreserved characters (RFC 3986), upper-case hex.
func escape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '_' || c == '-' || c == '~' || c == '.' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
