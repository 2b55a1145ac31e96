package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// page is what every signed-in page's layout needs, plus the page's own data.
type page struct {
	Title     string
	AccessKey string
	Project   string
	CSRF      string
	Flash     flash
	// Error replaces the page's content when its data could not be read.
	Error string
	Data  any
}

// The share chart's geometry (static/live.js uses the same numbers).
const (
	chartRow = 48
	chartX   = 170
	chartBar = 400
)

var funcs = template.FuncMap{
	// pct renders a share (0-1) as a percentage with one decimal.
	"pct": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	// The share chart: one 48-unit row per owner, bars from x=chartX up to chartBar units long.
	"chartHeight": func(rows int) int { return rows*chartRow + 8 },
	"rowY":        func(i int) int { return i*chartRow + 4 },
	"bar":         func(f float64) string { return strconv.FormatFloat(max(f, 0)*chartBar, 'f', 2, 64) },
	"barEnd":      func(f float64) string { return strconv.FormatFloat(chartX+max(f, 0)*chartBar+6, 'f', 2, 64) },
	"short": func(id string) string {
		if len(id) > 8 {
			return id[:8]
		}
		return id
	},
}

// render executes page name into a buffer first, so a template error never sends half a page.
func (c *Console) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, data); err != nil {
		c.o.Logger.Error("console: rendering", "page", name, "err", err)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// show renders a signed-in page with data, or with read's error in its place.
func (c *Console) show(w http.ResponseWriter, s *session, name, title string, data any, readErr error) {
	p := page{Title: title, AccessKey: s.accessKey, Project: s.project, CSRF: s.csrf, Flash: c.sessions.takeFlash(s.id), Data: data}
	status := http.StatusOK
	if readErr != nil {
		status, p.Error = readError(readErr)
	}
	c.render(w, status, name, p)
}

func (c *Console) loadBalancersPage(w http.ResponseWriter, r *http.Request, s *session) {
	rows, err := c.lbRows(s)
	c.show(w, s, "loadbalancers.html", "Load balancers", rows, err)
}

func (c *Console) loadBalancerPage(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := c.lbData(s, r.PathValue("id"))
	c.show(w, s, "loadbalancer.html", "Load balancer "+d.LB.Name, d, err)
}

func (c *Console) listenerPage(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := c.listenerData(s, r.PathValue("id"))
	c.show(w, s, "listener.html", fmt.Sprintf("Listener %s %d", d.Listener.Protocol, d.Listener.Port), d, err)
}

func (c *Console) sharesJSON(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := c.listenerData(s, r.PathValue("id"))
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status, msg := readError(err)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	_ = json.NewEncoder(w).Encode(d.Shares)
}

// done ends a form: the API's refusal (in its words) or notice is shown on the page at back.
func (c *Console) done(w http.ResponseWriter, r *http.Request, s *session, back string, err error, notice string) {
	f := flash{Notice: notice}
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			f = flash{Error: ae.ErrorMsg + " (" + ae.ErrorCode + ")"}
		} else {
			status, msg := readError(err)
			f = flash{Error: fmt.Sprintf("%s (HTTP %d)", msg, status)}
		}
		c.o.Logger.Info("console: form refused", "path", r.URL.Path, "access_key", s.accessKey, "reason", f.Error)
	}
	c.sessions.setFlash(s.id, f)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// number is a form field as the API's JSON: a number when it reads as one, nil when empty (the API
// then names the missing field), else the text as given (the API then says which type it wants).
func number(v string) any {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return v
}

// text is a form field as the API's JSON: nil when empty (the API's default applies).
func text(v string) any {
	if v = strings.TrimSpace(v); v == "" {
		return nil
	}
	return v
}

// obj is a JSON object without the fields left empty in the form.
func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != nil {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return m
}

func (c *Console) toggleIPTarget(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	enable := r.PostFormValue("enable") == "true"
	err := c.call(r.Context(), s, store.FamilyV3, http.MethodPut, "loadbalancers/"+id, obj("loadbalancer", obj("ip_target_enable", enable)), nil)
	word := "off"
	if enable {
		word = "on"
	}
	c.done(w, r, s, "/", err, "IP-type backends switched "+word+" for load balancer "+id+".")
}

func (c *Console) createListener(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var out struct {
		Listener struct {
			ID string `json:"id"`
		} `json:"listener"`
	}
	lb, err := c.o.Store.LoadBalancerSeenFromV3(s.scope(), id)
	if err == nil {
		err = c.call(r.Context(), s, lb.Family, http.MethodPost, "listeners", obj("listener", obj("loadbalancer_id", id,
			"protocol", text(r.PostFormValue("protocol")), "protocol_port", number(r.PostFormValue("protocol_port")),
			"name", text(r.PostFormValue("name")))), &out)
	}
	if err != nil {
		c.done(w, r, s, "/loadbalancers/"+id, err, "")
		return
	}
	c.done(w, r, s, "/listeners/"+out.Listener.ID, nil, "Listener "+out.Listener.ID+" created.")
}

func (c *Console) createPool(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	_, sc, err := c.listenerIn(s, id)
	if err == nil {
		err = c.call(r.Context(), s, sc.Family, http.MethodPost, "pools", obj("pool", obj("listener_id", id,
			"protocol", text(r.PostFormValue("protocol")), "lb_algorithm", text(r.PostFormValue("lb_algorithm")),
			"name", text(r.PostFormValue("name")))), nil)
	}
	c.done(w, r, s, "/listeners/"+id, err, "Pool created.")
}

// poolOf is the default pool of listener id in the session's project, and its API family:
// members are changed in the pool the listener serves, never in one a form names.
func (c *Console) poolOf(s *session, id string) (string, store.Family, error) {
	l, sc, err := c.listenerIn(s, id)
	if err != nil {
		return "", "", err
	}
	if l.DefaultPoolID == "" {
		return "", "", apierr.Conflict("listener %s has no pool yet: create its pool first", id)
	}
	return l.DefaultPoolID, sc.Family, nil
}

// subnetField is the member field naming its subnet in each API family.
var subnetField = map[store.Family]string{store.FamilyV3: "subnet_cidr_id", store.FamilyV2: "subnet_id"}

func (c *Console) addMember(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	pool, family, err := c.poolOf(s, id)
	if err == nil {
		err = c.call(r.Context(), s, family, http.MethodPost, "pools/"+pool+"/members", obj("member", obj(
			"address", text(r.PostFormValue("address")), "protocol_port", number(r.PostFormValue("protocol_port")),
			"weight", number(r.PostFormValue("weight")), "name", text(r.PostFormValue("name")),
			subnetField[family], text(r.PostFormValue("subnet")))), nil)
	}
	c.done(w, r, s, "/listeners/"+id, err, "Member "+r.PostFormValue("address")+":"+r.PostFormValue("protocol_port")+" added.")
}

func (c *Console) changeWeight(w http.ResponseWriter, r *http.Request, s *session) {
	id, member := r.PathValue("id"), r.PathValue("member")
	pool, family, err := c.poolOf(s, id)
	if err == nil {
		err = c.call(r.Context(), s, family, http.MethodPut, "pools/"+pool+"/members/"+member,
			obj("member", obj("weight", number(r.PostFormValue("weight")))), nil)
	}
	c.done(w, r, s, "/listeners/"+id, err, "Weight of member "+member+" set to "+r.PostFormValue("weight")+".")
}

func (c *Console) removeMember(w http.ResponseWriter, r *http.Request, s *session) {
	id, member := r.PathValue("id"), r.PathValue("member")
	pool, family, err := c.poolOf(s, id)
	if err == nil {
		err = c.call(r.Context(), s, family, http.MethodDelete, "pools/"+pool+"/members/"+member, nil, nil)
	}
	c.done(w, r, s, "/listeners/"+id, err, "Member "+member+" removed.")
}
