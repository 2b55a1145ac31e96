package console_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	modelv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/common/fleetrecord"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// user is a browser without script: a cookie jar and the last page's CSRF token.
type user struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newUser(t *testing.T, base string) *user {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &user{t: t, base: base, hc: &http.Client{Jar: jar}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// do sends a request and returns the final status and body (redirects followed), remembering
// the page's CSRF token.
func (u *user) do(method, path string, form url.Values, header ...string) (int, string) {
	u.t.Helper()
	req, err := http.NewRequest(method, u.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		u.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := u.hc.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		u.csrf = string(m[1])
	}
	return resp.StatusCode, string(b)
}

// post submits a form with the session's CSRF token.
func (u *user) post(path string, form url.Values) (int, string) {
	u.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", u.csrf)
	return u.do(http.MethodPost, path, form)
}

func (u *user) login(ak, sk string) (int, string) {
	u.t.Helper()
	return u.do(http.MethodPost, "/login", url.Values{"access_key": {ak}, "secret_key": {sk}})
}

// consoleWithLB serves elbd with its console (no data plane; moreConfig appended to the
// configuration) and one dedicated load balancer of project p1.
func consoleWithLB(t *testing.T, moreConfig ...string) (*elbdtest.Server, string) {
	t.Helper()
	elbd := elbdtest.Start(t, elbdtest.Config+strings.Join(moreConfig, ""), elbdtest.Options{Console: true})
	c := elbdtest.V3Client(t, elbd.URL, "AK1", "SK1-secret", "p1")
	lb, err := c.CreateLoadBalancer(&model.CreateLoadBalancerRequest{Body: &model.CreateLoadBalancerRequestBody{
		Loadbalancer: &model.CreateLoadBalancerOption{Name: ptr("lb-one"), VipSubnetCidrId: ptr("subnet-a1")}}})
	if err != nil {
		t.Fatal(err)
	}
	return elbd, lb.Loadbalancer.Id
}

// Login: a wrong secret or an unknown key is refused in words and gets no session; the right pair
// gets an HttpOnly, SameSite=Strict cookie with a random 256-bit session ID; logout ends it.
func TestO10Login(t *testing.T) {
	elbd, lbID := consoleWithLB(t)
	u := newUser(t, elbd.ConsoleURL)
	if status, body := u.do(http.MethodGet, "/", nil); status != http.StatusOK || !strings.Contains(body, `id="login-form"`) {
		t.Fatalf("signed out, / answered %d without the login form", status)
	}
	for _, bad := range [][2]string{{"AK1", "SK2-secret"}, {"AK3", "SK1-secret"}, {"AK1", ""}} {
		status, body := u.login(bad[0], bad[1])
		if status != http.StatusUnauthorized || !strings.Contains(body, "The access key or the secret key is wrong") {
			t.Errorf("login %s/%q: %d, want 401 with the reason", bad[0], bad[1], status)
		}
	}
	if cs := u.hc.Jar.Cookies(mustURL(t, elbd.ConsoleURL)); len(cs) != 0 {
		t.Fatalf("refused logins left cookies %v", cs)
	}

	// The cookie's attributes, as the server sends them.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ids := map[string]bool{}
	for range 2 {
		resp, err := noRedirect.PostForm(elbd.ConsoleURL+"/login", url.Values{"access_key": {"AK1"}, "secret_key": {"SK1-secret"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cs := resp.Cookies()
		if resp.StatusCode != http.StatusSeeOther || len(cs) != 1 {
			t.Fatalf("login answered %d with cookies %v", resp.StatusCode, cs)
		}
		ck := cs[0]
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.MaxAge <= 0 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(ck.Value) {
			t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, an expiry and 64 hex digits", ck)
		}
		ids[ck.Value] = true
	}
	if len(ids) != 2 {
		t.Error("two logins got the same session ID")
	}

	if status, body := u.login("AK1", "SK1-secret"); status != http.StatusOK || !strings.Contains(body, lbID) {
		t.Fatalf("after login / answered %d without load balancer %s", status, lbID)
	}
	if status, _ := u.post("/logout", nil); status != http.StatusOK {
		t.Fatalf("logout answered %d", status)
	}
	if _, body := u.do(http.MethodGet, "/", nil); !strings.Contains(body, `id="login-form"`) || strings.Contains(body, lbID) {
		t.Error("after logout the console still shows the load balancers")
	}
	if status, _ := u.do(http.MethodGet, "/listeners/x/shares", nil, "Accept", "application/json"); status != http.StatusUnauthorized {
		t.Errorf("the share endpoint answered %d after logout, want 401", status)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A form without the session's CSRF token, with another session's, or from another site's page is
// refused and changes nothing.
func TestO11FormsNeedTheSessionsToken(t *testing.T) {
	elbd, lbID := consoleWithLB(t)
	u, other := newUser(t, elbd.ConsoleURL), newUser(t, elbd.ConsoleURL)
	u.login("AK1", "SK1-secret")
	other.login("AK1", "SK1-secret")
	path := "/loadbalancers/" + lbID + "/ip-target"
	for name, try := range map[string]func() int{
		"no token": func() int { s, _ := u.do(http.MethodPost, path, url.Values{"enable": {"true"}}); return s },
		"another session's token": func() int {
			s, _ := u.do(http.MethodPost, path, url.Values{"enable": {"true"}, "csrf": {other.csrf}})
			return s
		},
		"another site's page": func() int {
			s, _ := u.do(http.MethodPost, path, url.Values{"enable": {"true"}, "csrf": {u.csrf}}, "Origin", "http://evil.example")
			return s
		},
	} {
		if status := try(); status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, status)
		}
	}
	if lb, err := elbd.Store.GetLoadBalancer(scopeP1, lbID); err != nil || lb.IPTargetEnable {
		t.Fatalf("a refused form switched IP-type backends on (%v)", err)
	}
	if status, body := u.post(path, url.Values{"enable": {"true"}}); status != http.StatusOK || !strings.Contains(body, "IP-type backends switched on") {
		t.Fatalf("with the token: %d", status)
	}
	if lb, _ := elbd.Store.GetLoadBalancer(scopeP1, lbID); !lb.IPTargetEnable {
		t.Fatal("the form with the token did not switch IP-type backends on")
	}
}

// The console acts in the project of the key it was logged in with: another project's listener
// is not found (the store's message), and a form on another project's load balancer is refused
// with the API's message and changes nothing.
func TestO12ProjectIsolation(t *testing.T) {
	elbd, lbID := consoleWithLB(t)
	l, err := elbd.Store.CreateListener(scopeP1, store.Listener{LoadBalancerID: lbID, Protocol: "TCP", ProtocolPort: 80, AdminStateUp: true})
	if err != nil {
		t.Fatal(err)
	}
	u := newUser(t, elbd.ConsoleURL)
	u.login("AK2", "SK2-secret")
	if _, body := u.do(http.MethodGet, "/", nil); strings.Contains(body, lbID) {
		t.Error("project p2's console lists p1's load balancer")
	}
	if status, body := u.do(http.MethodGet, "/listeners/"+l.ID, nil); status != http.StatusNotFound || !strings.Contains(body, "listener "+l.ID+" could not be found") {
		t.Errorf("p1's listener seen from p2: %d", status)
	}
	if _, body := u.post("/loadbalancers/"+lbID+"/ip-target", url.Values{"enable": {"true"}}); !strings.Contains(body, `id="flash-error"`) {
		t.Error("switching p1's load balancer from p2 showed no error")
	}
	if lb, _ := elbd.Store.GetLoadBalancer(scopeP1, lbID); lb.IPTargetEnable {
		t.Fatal("p2's console changed p1's load balancer")
	}
}

// Each S3 form goes through the API: a refusal shows the API's own message and code, exactly as
// the SDK gets them for the same request.
func TestO12FormErrorsAreTheAPIs(t *testing.T) {
	elbd, lbID := consoleWithLB(t)
	c := elbdtest.V3Client(t, elbd.URL, "AK1", "SK1-secret", "p1")
	u := newUser(t, elbd.ConsoleURL)
	u.login("AK1", "SK1-secret")
	shown := flashOf
	apiSays := func(err error) string {
		var se *sdkerr.ServiceResponseError
		if !errors.As(err, &se) {
			t.Fatalf("the API took it: %v", err)
		}
		return se.ErrorMessage + " (" + se.ErrorCode + ")"
	}

	// A listener port out of range.
	_, body := u.post("/loadbalancers/"+lbID+"/listeners", url.Values{"protocol": {"TCP"}, "protocol_port": {"70000"}})
	_, err := c.CreateListener(&model.CreateListenerRequest{Body: &model.CreateListenerRequestBody{Listener: &model.CreateListenerOption{
		LoadbalancerId: lbID, Protocol: "TCP", ProtocolPort: ptr(int32(70000))}}})
	if want := apiSays(err); shown(body) != want {
		t.Errorf("listener port 70000: the page says %q, the API %q", shown(body), want)
	}

	// An IP-type member while IP-type backends are off.
	_, body = u.post("/loadbalancers/"+lbID+"/listeners", url.Values{"protocol": {"TCP"}, "protocol_port": {"80"}})
	ls, _ := elbd.Store.ListListeners(scopeP1)
	if len(ls) != 1 {
		t.Fatalf("%d listeners after the create form; page: %s", len(ls), shown(body))
	}
	lid := ls[0].ID
	if _, body = u.post("/listeners/"+lid+"/members", url.Values{"address": {"127.0.0.2"}, "protocol_port": {"8080"}}); !strings.Contains(shown(body), "no pool yet") {
		t.Errorf("a member before the pool: the page says %q", shown(body))
	}
	u.post("/listeners/"+lid+"/pool", url.Values{"protocol": {"TCP"}, "lb_algorithm": {"ROUND_ROBIN"}})
	l, _ := elbd.Store.GetListener(scopeP1, lid)
	_, body = u.post("/listeners/"+lid+"/members", url.Values{"address": {"127.0.0.2"}, "protocol_port": {"8080"}, "weight": {"5"}})
	_, err = c.CreateMember(&model.CreateMemberRequest{PoolId: l.DefaultPoolID, Body: &model.CreateMemberRequestBody{
		Member: &model.CreateMemberOption{Address: "127.0.0.2", ProtocolPort: ptr(int32(8080)), Weight: ptr(int32(5))}}})
	if want := apiSays(err); shown(body) != want {
		t.Errorf("IP-type member with IP-type backends off: the page says %q, the API %q", shown(body), want)
	}
	// A weight that is not a number: the API's words about the field's type.
	_, body = u.post("/listeners/"+lid+"/members", url.Values{"address": {"127.10.1.50"}, "protocol_port": {"8080"}, "subnet": {"subnet-a1"}, "weight": {"heavy"}})
	if got := shown(body); !strings.Contains(got, "weight") || !strings.Contains(got, "ELB.8902") {
		t.Errorf("weight \"heavy\": the page says %q", got)
	}
	if ms, _ := elbd.Store.ListMembers(scopeP1, l.DefaultPoolID); len(ms) != 0 {
		t.Errorf("refused forms left %d members", len(ms))
	}
}

// The listener view's numbers (fleetview's rows): members grouped by owner, clusters first and the
// hand-added members under "manual"; requested weight from the owner's record on the listener
// (T10) or, without one, what the members carry (marked *); effective weight and expected share
// from the serving members. Without the real data plane nothing is measured, and the page says so.
func TestO14ListenerViewNumbers(t *testing.T) {
	elbd, lbID := consoleWithLB(t, "clusterNames:\n  east: East (Frankfurt)\n")
	sc := scopeP1
	if _, err := elbd.Store.UpdateLoadBalancer(sc, lbID, func(lb *store.LoadBalancer) error { lb.IPTargetEnable = true; return nil }); err != nil {
		t.Fatal(err)
	}
	rec, err := fleetrecord.Encode(fleetrecord.Record{ClusterID: "east", Weight: 60, Heartbeat: time.Now(), InstallID: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	// west's heartbeat is older than the TTL: west is shown stale (T13).
	old, err := fleetrecord.Encode(fleetrecord.Record{ClusterID: "west", Weight: 10, Heartbeat: time.Now().Add(-fleetrecord.DefaultTTL - time.Minute), InstallID: "def456"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := elbd.Store.CreateListener(sc, store.Listener{LoadBalancerID: lbID, Protocol: "TCP", ProtocolPort: 80, AdminStateUp: true,
		Tags: []store.Tag{{Key: rec.Key, Value: rec.Value}, {Key: old.Key, Value: old.Value}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := elbd.Store.CreatePool(sc, store.Pool{Protocol: "TCP", LBAlgorithm: "ROUND_ROBIN", AdminStateUp: true}, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []store.Member{
		{Name: "fleetlb/east/shop/web/80", Address: "127.0.0.2", ProtocolPort: 8080, Weight: 3},
		{Name: "fleetlb/east/shop/web/80", Address: "127.0.0.4", ProtocolPort: 8080, Weight: 3},
		{Name: "fleetlb/west/shop/web/80", Address: "127.0.0.5", ProtocolPort: 8080, Weight: 0},
		{Name: "vm-1", Address: "127.0.0.3", ProtocolPort: 8080, Weight: 2},
	} {
		m.AdminStateUp = true
		if _, err := elbd.Store.CreateMember(sc, p.ID, m); err != nil {
			t.Fatal(err)
		}
	}
	u := newUser(t, elbd.ConsoleURL)
	u.login("AK1", "SK1-secret")
	status, body := u.do(http.MethodGet, "/listeners/"+l.ID+"/shares", nil, "Accept", "application/json")
	var got struct {
		Owners []struct {
			Owner, Label, RequestedText, RequestedFrom string
			Members, EffectiveWeight                   int
			ExpectedShare                              float64
		}
		Measured, Counters bool
	}
	if err := json.Unmarshal([]byte(body), &got); status != http.StatusOK || err != nil {
		t.Fatalf("shares: %d %v\n%s", status, err, body)
	}
	want := []string{"east (East (Frankfurt)) 2 60 given 6 0.75", "west (west (stale)) 1 10 given 0 0.00", "manual (manual) 1 2* carried 2 0.25"}
	var rows []string
	for _, o := range got.Owners {
		rows = append(rows, fmt.Sprintf("%s (%s) %d %s %s %d %.2f", o.Owner, o.Label, o.Members, o.RequestedText, o.RequestedFrom, o.EffectiveWeight, o.ExpectedShare))
	}
	if strings.Join(rows, "; ") != strings.Join(want, "; ") || got.Measured || got.Counters {
		t.Errorf("owners %q (measured %v, counters %v), want %q and nothing measured", rows, got.Measured, got.Counters, want)
	}
	_, page := u.do(http.MethodGet, "/listeners/"+l.ID, nil)
	order := regexp.MustCompile(`<section class="owner-group" data-owner="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(order) != 3 || order[0][1] != "east" || order[1][1] != "west" || order[2][1] != "manual" {
		t.Errorf("owner groups on the page: %v, want east, west, manual", order)
	}
	if !strings.Contains(page, "<h3>cluster east · East (Frankfurt)</h3>") {
		t.Error("east's group does not show its name from clusterNames")
	}
	if !strings.Contains(page, "No connection counters from this elbd") {
		t.Error("the page does not say that nothing is measured without the data plane")
	}
}

// A shared (v2) load balancer is listed and set up through the same forms, which then call the v2
// API (its field names, its rules): S3 on a union ELB. A refusal is the v2 API's own message.
func TestO13SharedLoadBalancerForms(t *testing.T) {
	elbd := elbdtest.Start(t, elbdtest.Config, elbdtest.Options{Console: true})
	v2 := store.Scope{Family: store.FamilyV2, ProjectID: "p1"}
	lb, err := elbd.Store.CreateLoadBalancer(v2, store.LoadBalancer{Name: "union", VIPSubnetID: "subnet-a1", AdminStateUp: true})
	if err != nil {
		t.Fatal(err)
	}
	u := newUser(t, elbd.ConsoleURL)
	u.login("AK1", "SK1-secret")
	if _, body := u.do(http.MethodGet, "/", nil); !strings.Contains(body, lb.ID) || !strings.Contains(body, "not available on shared load balancers") {
		t.Error("the shared load balancer is not listed as shared")
	}
	if _, body := u.post("/loadbalancers/"+lb.ID+"/listeners", url.Values{"protocol": {"TCP"}, "protocol_port": {"80"}}); !strings.Contains(body, `id="create-pool"`) {
		t.Fatalf("creating a listener on the shared load balancer did not lead to its page:\n%s", body)
	}
	ls, _ := elbd.Store.ListListeners(v2)
	if len(ls) != 1 || ls[0].LoadBalancerID != lb.ID {
		t.Fatalf("v2 listeners after the form: %+v", ls)
	}
	lid := ls[0].ID
	u.post("/listeners/"+lid+"/pool", url.Values{"protocol": {"TCP"}, "lb_algorithm": {"ROUND_ROBIN"}})
	l, _ := elbd.Store.GetListener(v2, lid)
	if l.DefaultPoolID == "" {
		t.Fatal("the pool form made no pool for the shared listener")
	}

	// No subnet: shared load balancers have no IP-type members. The page says what the v2 API says.
	_, body := u.post("/listeners/"+lid+"/members", url.Values{"address": {"127.10.1.20"}, "protocol_port": {"8080"}})
	c2 := elbdtest.V2Client(t, elbd.URL, "AK1", "SK1-secret", "p1")
	_, err = c2.CreateMember(&modelv2.CreateMemberRequest{PoolId: l.DefaultPoolID, Body: &modelv2.CreateMemberRequestBody{
		Member: &modelv2.CreateMemberReq{Address: "127.10.1.20", ProtocolPort: 8080}}})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || !strings.Contains(body, se.ErrorMessage+" ("+se.ErrorCode+")") {
		t.Errorf("member without a subnet: the v2 API says %v; the page shows %q", err, flashOf(body))
	}

	u.post("/listeners/"+lid+"/members", url.Values{"address": {"127.10.1.20"}, "protocol_port": {"8080"}, "subnet": {"subnet-a1"}, "weight": {"5"}, "name": {"vm-1"}})
	ms, _ := elbd.Store.ListMembers(v2, l.DefaultPoolID)
	if len(ms) != 1 || ms[0].Weight != 5 || ms[0].SubnetID != "subnet-a1" {
		t.Fatalf("members after the add form: %+v (page: %q)", ms, flashOf(body))
	}
	if _, page := u.do(http.MethodGet, "/listeners/"+lid, nil); !strings.Contains(page, `data-owner="manual"`) || !strings.Contains(page, "127.10.1.20:8080") {
		t.Error("the shared listener's page does not show its member under manual")
	}
	u.post("/listeners/"+lid+"/members/"+ms[0].ID+"/weight", url.Values{"weight": {"7"}})
	if m, _ := elbd.Store.GetMember(v2, l.DefaultPoolID, ms[0].ID); m.Weight != 7 {
		t.Errorf("weight after the form: %d, want 7", m.Weight)
	}
	u.post("/listeners/"+lid+"/members/"+ms[0].ID+"/remove", nil)
	if ms, _ := elbd.Store.ListMembers(v2, l.DefaultPoolID); len(ms) != 0 {
		t.Errorf("%d members after the remove form", len(ms))
	}
}

// flashOf is the outcome message a page shows.
func flashOf(body string) string {
	m := regexp.MustCompile(`id="flash-(?:error|notice)"[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&#34;", `"`)
}

// Wrong secrets are paced: after a burst of 10, every login (even a right one) is refused with 429
// until the pace allows one more, so guessing a secret key takes forever.
func TestO10FailedLoginsArePaced(t *testing.T) {
	elbd, _ := consoleWithLB(t)
	u := newUser(t, elbd.ConsoleURL)
	for i := 0; i < 10; i++ {
		if status, _ := u.login("AK1", "guess"); status != http.StatusUnauthorized {
			t.Fatalf("wrong login %d: %d, want 401", i+1, status)
		}
	}
	for _, sk := range []string{"guess", "SK1-secret"} {
		if status, body := u.login("AK1", sk); status != http.StatusTooManyRequests || !strings.Contains(body, "Too many wrong logins just now") {
			t.Errorf("login with %q after 10 wrong ones: %d, want 429 saying to wait", sk, status)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _ := u.login("AK1", "SK1-secret")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the right secret is still refused (%d) 30 s later", status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
