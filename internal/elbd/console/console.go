// Package console is elbd's web console (--console-address): an operator logs in with an access
// key and its secret key and sees, in the project of that key, the load balancers, their listeners,
// pools and members grouped by owner (the cluster of the member-name ownership mark, or "manual"),
// and per listener each owner's expected and measured share of new connections, refreshed live.
// Its forms do scenario S3's manual steps (create a listener and a pool, add, remove and re-weight
// members, toggle a load balancer's IP-type backends).
//
// Every write goes through elbd's own API handler in-process (apicall.go), so the console applies
// exactly the API's rules and shows exactly its error messages; reads come from the store, scoped
// to the session's project as the API scopes them.
//
// Pages are rendered on the server with html/template; the stylesheet and the few lines of
// script that poll the share endpoint are embedded, so the console needs no network at run time.
package console

import (
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DefaultSessionTTL is how long a login lasts without activity.
const DefaultSessionTTL = 8 * time.Hour

// Options wires a console.
type Options struct {
	// Store is elbd's state, read in the session's project; required.
	Store *store.Store
	// API is elbd's API handler (api.NewRouter), built with an Authenticator wrapped by Trust;
	// every write is a call to it. Required.
	API http.Handler
	// Credentials are the keys that may log in (elbd's config); required.
	Credentials []config.Credential
	// DataPlane answers members' operating statuses; when it also has MemberCounters (the real
	// data plane), the console shows active connections and measured shares. nil: none.
	DataPlane api.DataPlane
	// ClusterNames are the clusters' names for people (cluster ID → name; elbd's clusterNames),
	// shown beside their IDs.
	ClusterNames map[string]string
	// SessionTTL is how long a session lasts after its last request; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// ShareWindow is how far back the measured share looks; 0 means DefaultShareWindow.
	ShareWindow time.Duration
	// Logger receives logins and refusals (never a secret); nil discards them.
	Logger *slog.Logger
	// now replaces time.Now (tests of expiry).
	now func() time.Time
}

// Console is the web console's HTTP handler.
type Console struct {
	o        Options
	pages    map[string]*template.Template
	sessions *sessions
	window   *shareWindow
	mux      *http.ServeMux
	// failedLogins paces wrong secrets: guessing one takes forever (O10).
	failedLogins *rate.Limiter
}

// Failed logins allowed: a burst of loginBurst, then one per loginEvery, for the whole console
// (a guesser may use many addresses; an operator who mistypes is not held up).
const (
	loginBurst = 10
	loginEvery = time.Second
)

// New checks o and builds the console.
func New(o Options) (*Console, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("console: Options.Store is required")
	case o.API == nil:
		return nil, errors.New("console: Options.API is required")
	case len(o.Credentials) == 0:
		return nil, errors.New("console: Options.Credentials is empty: nobody could log in")
	}
	if o.DataPlane == nil {
		o.DataPlane = api.NopDataPlane{}
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.ShareWindow <= 0 {
		o.ShareWindow = DefaultShareWindow
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{o: o, pages: pages, sessions: newSessions(o.SessionTTL, o.now), window: newShareWindow(o.ShareWindow),
		failedLogins: rate.NewLimiter(rate.Every(loginEvery), loginBurst)}
	c.routes()
	return c, nil
}

// parsePages parses each page template together with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		pages[n[len("templates/"):]] = t
	}
	return pages, nil
}

func (c *Console) routes() {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", c.signedIn(c.logout))
	mux.HandleFunc("GET /{$}", c.signedIn(c.loadBalancersPage))
	mux.HandleFunc("POST /loadbalancers/{id}/ip-target", c.signedIn(c.toggleIPTarget))
	mux.HandleFunc("GET /loadbalancers/{id}", c.signedIn(c.loadBalancerPage))
	mux.HandleFunc("POST /loadbalancers/{id}/listeners", c.signedIn(c.createListener))
	mux.HandleFunc("GET /listeners/{id}", c.signedIn(c.listenerPage))
	mux.HandleFunc("GET /listeners/{id}/shares", c.signedIn(c.sharesJSON))
	mux.HandleFunc("POST /listeners/{id}/pool", c.signedIn(c.createPool))
	mux.HandleFunc("POST /listeners/{id}/members", c.signedIn(c.addMember))
	mux.HandleFunc("POST /listeners/{id}/members/{member}/weight", c.signedIn(c.changeWeight))
	mux.HandleFunc("POST /listeners/{id}/members/{member}/remove", c.signedIn(c.removeMember))
	c.mux = mux
}

// ServeHTTP serves the console with headers that keep its pages out of frames and caches.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c.mux.ServeHTTP(w, r)
}

// credential is the configured key accessKey when secretKey is its secret. Both comparisons take
// the same time whether or not they match, and every key is compared, so the answer's timing does
// not tell which keys exist.
func (c *Console) credential(accessKey, secretKey string) (config.Credential, bool) {
	var found config.Credential
	ok := 0
	for _, cr := range c.o.Credentials {
		match := subtle.ConstantTimeCompare([]byte(cr.AccessKey), []byte(accessKey)) &
			subtle.ConstantTimeCompare([]byte(cr.SecretKey), []byte(secretKey))
		if match == 1 {
			found = cr
		}
		ok |= match
	}
	return found, ok == 1
}
