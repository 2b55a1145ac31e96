package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// cookieName is the session cookie.
const cookieName = "elbd_console"

// session is one login: the key's project, the CSRF token its forms carry, and the message the
// next page shows (the outcome of the last form).
type session struct {
	id        string
	accessKey string
	project   string
	csrf      string
	expires   time.Time
	flash     flash
}

// flash is the outcome of a form, shown once on the page the form redirects to.
type flash struct {
	Error  string
	Notice string
}

// scope is what the session may see and change: the v3 (dedicated) API family in its project.
func (s *session) scope() store.Scope {
	return store.Scope{Family: store.FamilyV3, ProjectID: s.project}
}

// sessions are the live logins, in memory: a restart of elbd logs everyone out.
type sessions struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[string]*session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, m: map[string]*session{}}
}

// randomToken is 32 bytes from crypto/rand, hex: session IDs and CSRF tokens nobody can guess.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux (it panics rather than return short)
	return hex.EncodeToString(b)
}

func (ss *sessions) create(accessKey, project string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for id, s := range ss.m { // drop expired sessions, so abandoned logins do not pile up
		if now.After(s.expires) {
			delete(ss.m, id)
		}
	}
	s := &session{id: randomToken(), accessKey: accessKey, project: project, csrf: randomToken(), expires: now.Add(ss.ttl)}
	ss.m[s.id] = s
	return s
}

// get returns the live session id and extends it; nil when unknown or expired.
func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[id]
	if !ok {
		return nil
	}
	now := ss.now()
	if now.After(s.expires) {
		delete(ss.m, id)
		return nil
	}
	s.expires = now.Add(ss.ttl)
	cp := *s
	return &cp
}

// setFlash records the outcome the next page of session id shows.
func (ss *sessions) setFlash(id string, f flash) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.m[id]; ok {
		s.flash = f
	}
}

// takeFlash returns and clears the outcome to show.
func (ss *sessions) takeFlash(id string) flash {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[id]
	if !ok {
		return flash{}
	}
	f := s.flash
	s.flash = flash{}
	return f
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// setCookie sends the session cookie (O10): HttpOnly (no script reads it), SameSite=Strict (no other
// site's page sends it), Secure when the console is served over HTTPS.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// sameOrigin refuses a POST whose Origin (sent by every current browser on a POST) names another
// site; with SameSite=Strict and the per-session token it is the third guard against forged forms.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// signedIn runs h for a live session (O10); otherwise it sends the browser to the login page (a page)
// or answers 401 (the share endpoint). Every POST must carry the session's CSRF token.
func (c *Console) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if ck, err := r.Cookie(cookieName); err == nil {
			s = c.sessions.get(ck.Value)
		}
		if s == nil {
			if r.Method == http.MethodGet && r.URL.Path != "/" && r.Header.Get("Accept") == "application/json" {
				http.Error(w, "not logged in (or the session expired): log in again", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
				c.o.Logger.Warn("console: form refused: missing or wrong CSRF token, or another site's origin", "path", r.URL.Path, "access_key", s.accessKey)
				http.Error(w, "this form is stale or came from another site: reload the page and submit it again", http.StatusForbidden)
				return
			}
		}
		h(w, r, s)
	}
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "login.html", page{Title: "Log in", Data: loginView{}})
}

type loginView struct {
	Error     string
	AccessKey string
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ak, sk := r.PostFormValue("access_key"), r.PostFormValue("secret_key")
	if !sameOrigin(r) {
		http.Error(w, "this login form came from another site", http.StatusForbidden)
		return
	}
	if c.failedLogins.Tokens() < 1 {
		c.render(w, http.StatusTooManyRequests, "login.html", page{Title: "Log in", Data: loginView{AccessKey: ak,
			Error: "Too many wrong logins just now; wait a few seconds, then try again."}})
		return
	}
	cred, ok := c.credential(ak, sk)
	if !ok {
		c.failedLogins.Allow() // spend a token
		c.o.Logger.Warn("console: login refused", "access_key", ak)
		c.render(w, http.StatusUnauthorized, "login.html", page{Title: "Log in", Data: loginView{AccessKey: ak,
			Error: "The access key or the secret key is wrong. Use a key pair from elbd's configuration (credentials)."}})
		return
	}
	s := c.sessions.create(cred.AccessKey, cred.ProjectID)
	c.setCookie(w, r, s.id, int(c.o.SessionTTL/time.Second))
	c.o.Logger.Info("console: logged in", "access_key", cred.AccessKey, "project", cred.ProjectID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.delete(s.id)
	c.setCookie(w, r, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
