package console_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
)

// chromiumPath is Debian's chromium, which `make test` installs when it is missing.
const chromiumPath = "/usr/bin/chromium"

// screenshotPath is the listener view the README shows. TestO13ConsoleInBrowser rewrites it only
// under FLEETLB_WRITE_SCREENSHOT=1 (make screenshot), so that a test run leaves the tree clean.
const screenshotPath = "../../../docs/images/console-listener.png"

// browser starts headless Chromium with a fresh profile and no network beyond what the pages
// load from loopback. Without chromium the test fails, saying how to get it, unless
// FLEETLB_SKIP_BROWSER=1 (then it skips).
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the browser test runs in the full test run (make test)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("FLEETLB_SKIP_BROWSER") == "1" {
			t.Skipf("FLEETLB_SKIP_BROWSER=1 and %s is missing", chromiumPath)
		}
		t.Fatalf("%s is missing: the console's browser test needs Debian's chromium; `make test` installs it "+
			"(apt-get install -y chromium), or set FLEETLB_SKIP_BROWSER=1 to skip this test on this machine", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 1000),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		_ = chromedp.Cancel(bctx) // closes the browser and waits for it to exit
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	return bctx
}

// greeter is a member server: on each connection it writes its name and a newline, and closes
// when the client does.
type greeter struct {
	ln net.Listener
	wg sync.WaitGroup
}

func startGreeter(t *testing.T, name, host string) (port int) {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	g := &greeter{ln: ln}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				defer c.Close()
				if _, err := c.Write([]byte(name + "\n")); err == nil {
					_, _ = io.Copy(io.Discard, c)
				}
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); g.wg.Wait() })
	return ln.Addr().(*net.TCPAddr).Port
}

// connect opens n connections to addr through elbd and counts which member answered each; the
// connections stay open when hold, else each is closed once answered.
func connect(t *testing.T, addr string, n int, hold bool) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d to %s: %v", i, addr, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if hold && err == nil {
			t.Cleanup(func() { _ = c.Close() })
		} else {
			_ = c.Close()
		}
		if err != nil {
			t.Fatalf("connection %d to %s: no greeting from a member: %v", i, addr, err)
		}
		got[strings.TrimSpace(line)]++
	}
	return got
}

// until waits until the JavaScript expression is true on the page, polling again when a
// navigation interrupts the poll.
func until(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, t)
			if err == nil && ok {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("still not true after 30 s: %s (last error: %v)", expr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// get runs the action that reads a value, failing the test with what it was reading.
func get[T any](ctx context.Context, t *testing.T, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("reading %s: %v", what, err)
	}
	return v
}

// text reads the text of the first element matching the CSS selector sel.
func text(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	return strings.TrimSpace(get(ctx, t, sel, chromedp.Text(chromedp.CSS(sel))))
}

// run runs steps, failing the test with what it was doing.
func run(ctx context.Context, t *testing.T, doing string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", doing, err)
	}
}

// visible waits for the element matching the CSS selector sel.
func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// notice waits for the page whose outcome notice contains words (not the notice of the page before).
func notice(words string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(document.getElementById('flash-notice') || {textContent: ''}).textContent.includes(%q)`, words))
}

// click clicks the element matching the CSS selector sel.
func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// fill sets the form fields (CSS selector → value) and submits with the form's button.
func fill(form string, fields map[string]string) chromedp.Action[chromedp.Void] {
	var steps []chromedp.Action[chromedp.Void]
	for sel, v := range fields {
		if v == "" { // SetValue cannot tell an empty value from a failure
			steps = append(steps, chromedp.Clear(chromedp.CSS(sel)))
			continue
		}
		steps = append(steps, chromedp.SetValue(chromedp.CSS(sel), v))
	}
	return chromedp.Steps(append(steps, click(form+" button"))...)
}

// percent reads "75.0%" as 75.
func percent(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		t.Fatalf("%q is not a percentage", s)
	}
	return f
}

// An operator does scenario S3's manual steps in the console, in a real browser: log in (a wrong
// secret is refused), switch on IP-type backends, create a listener and its pool, add two members
// (one carrying a cluster's ownership mark, one by hand) on real loopback servers, see them grouped
// by owner, send real traffic through the listener and watch the measured share follow the weights,
// re-weight and remove a member; a refused form shows the API's own message.
func TestO13ConsoleInBrowser(t *testing.T) {
	ctx := browser(t)
	elbd := elbdtest.Start(t, elbdtest.Config+"clusterNames:\n  east: East (Frankfurt)\n", elbdtest.Options{RealDataPlane: true, Console: true})
	c := elbdtest.V3Client(t, elbd.URL, "AK1", "SK1-secret", "p1")
	lb, err := c.CreateLoadBalancer(&model.CreateLoadBalancerRequest{Body: &model.CreateLoadBalancerRequestBody{
		Loadbalancer: &model.CreateLoadBalancerOption{Name: ptr("shop-frontend"), VipSubnetCidrId: ptr("subnet-a1")}}})
	if err != nil {
		t.Fatal(err)
	}
	lbID, vip := lb.Loadbalancer.Id, lb.Loadbalancer.VipAddress
	eastPort := startGreeter(t, "east", "127.0.0.2")
	vmPort := startGreeter(t, "vm", "127.0.0.3")
	url := elbd.ConsoleURL

	// Log in: a wrong secret is refused in words, the right one shows the load balancers.
	run(ctx, t, "logging in with a wrong secret",
		chromedp.Navigate(url+"/"), visible("#login-form"),
		fill("#login-form", map[string]string{"#access_key": "AK1", "#secret_key": "not-the-secret"}),
		visible("#login-error"))
	if msg := text(ctx, t, "#login-error"); !strings.Contains(msg, "secret key is wrong") {
		t.Errorf("wrong secret: the page says %q", msg)
	}
	run(ctx, t, "logging in", fill("#login-form", map[string]string{"#access_key": "AK1", "#secret_key": "SK1-secret"}),
		visible("#loadbalancers"))
	row := `tr[data-lb="` + lbID + `"]`
	if got := text(ctx, t, row+" .vip"); got != vip {
		t.Errorf("VIP shown %q, want %q", got, vip)
	}
	if got := text(ctx, t, row+" .ip-target"); got != "off" {
		t.Errorf("IP-type backends shown %q before the switch, want off", got)
	}

	// Switch on IP-type backends: the members below are loopback servers outside every subnet.
	run(ctx, t, "switching on IP-type backends", click(row+" button.toggle-ip-target"),
		visible("#flash-notice"))
	if got := text(ctx, t, row+" .ip-target"); got != "on" {
		t.Errorf("IP-type backends shown %q after the switch, want on", got)
	}
	if got, err := c.ShowLoadBalancer(&model.ShowLoadBalancerRequest{LoadbalancerId: lbID}); err != nil || !got.Loadbalancer.IpTargetEnable {
		t.Fatalf("after the switch the API shows ip_target_enable=%v (err %v), want true", got != nil && got.Loadbalancer.IpTargetEnable, err)
	}

	// Create a listener and its pool.
	port := elbdtest.FreePort(t, vip)
	run(ctx, t, "creating a listener", chromedp.Navigate(url+"/loadbalancers/"+lbID),
		visible("#create-listener"),
		fill("#create-listener", map[string]string{"#listener-port": strconv.Itoa(port), "#listener-name": "web"}),
		visible("#create-pool"))
	listenerID := text(ctx, t, "#listener-id")
	run(ctx, t, "creating the pool", fill("#create-pool", map[string]string{"#pool-name": "web-pool"}),
		visible("#add-member"))
	l, err := elbd.Store.GetListener(scopeP1, listenerID)
	if err != nil {
		t.Fatal(err)
	}
	// A health monitor (not one of S3's console steps; through the API), so members show health.
	if _, err := c.CreateHealthMonitor(&model.CreateHealthMonitorRequest{Body: &model.CreateHealthMonitorRequestBody{
		Healthmonitor: &model.CreateHealthMonitorOption{PoolId: l.DefaultPoolID, Type: "TCP", Delay: 1, Timeout: 1, MaxRetries: 1}}}); err != nil {
		t.Fatal(err)
	}

	// Add a member as cluster "east" would (its ownership mark in the name), then one by hand.
	east := "fleetlb/east/shop/frontend/" + strconv.Itoa(port)
	run(ctx, t, "adding the cluster's member", fill("#add-member", map[string]string{
		"#member-address": "127.0.0.2", "#member-port": strconv.Itoa(eastPort), "#member-weight": "3", "#member-name": east}),
		visible(`section.owner-group[data-owner="east"]`))

	// A refused form shows the API's own words: the same request through the SDK gets the same message.
	run(ctx, t, "adding a member with weight 101", fill("#add-member", map[string]string{
		"#member-address": "127.0.0.3", "#member-port": strconv.Itoa(vmPort), "#member-weight": "101", "#member-name": ""}),
		visible("#flash-error"))
	_, err = c.CreateMember(&model.CreateMemberRequest{PoolId: l.DefaultPoolID, Body: &model.CreateMemberRequestBody{
		Member: &model.CreateMemberOption{Address: "127.0.0.3", ProtocolPort: ptr(int32(vmPort)), Weight: ptr(int32(101))}}})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) {
		t.Fatalf("the API took weight 101: %v", err)
	}
	if msg := text(ctx, t, "#flash-error"); !strings.Contains(msg, se.ErrorMessage) || !strings.Contains(msg, se.ErrorCode) {
		t.Errorf("the page says %q; the API says %q (%s)", msg, se.ErrorMessage, se.ErrorCode)
	}

	run(ctx, t, "adding a member by hand", fill("#add-member", map[string]string{
		"#member-address": "127.0.0.3", "#member-port": strconv.Itoa(vmPort), "#member-weight": "1", "#member-name": ""}),
		visible(`section.owner-group[data-owner="manual"]`))

	// Grouped by owner: cluster east (its member) and the hand-added member under "manual".
	for owner, want := range map[string]string{"east": "127.0.0.2:" + strconv.Itoa(eastPort), "manual": "127.0.0.3:" + strconv.Itoa(vmPort)} {
		n := get(ctx, t, owner+"'s members", chromedp.Evaluate[int](
			`document.querySelectorAll('section.owner-group[data-owner="`+owner+`"] tr[data-member]').length`))
		if got := text(ctx, t, `section.owner-group[data-owner="`+owner+`"] td.address`); n != 1 || got != want {
			t.Errorf("owner %s: %d members, first at %s; want 1 at %s", owner, n, got, want)
		}
	}
	if got := text(ctx, t, `section.owner-group[data-owner="east"] h3`); got != "cluster east · East (Frankfurt)" {
		t.Errorf("east's heading %q", got)
	}
	share := func(owner, col string) string { return text(ctx, t, `#share-table tr[data-owner="`+owner+`"] .`+col) }
	if e, m := share("east", "expected"), share("manual", "expected"); e != "75.0%" || m != "25.0%" {
		t.Errorf("expected shares east %s, manual %s; want 75.0%% and 25.0%% (weights 3:1)", e, m)
	}
	before := share("east", "measured")

	// Real traffic through the listener; the page (refreshing every 2 s) shows the measured share.
	const conns = 200
	// Health comes from the health checker, refreshed on the page without a reload.
	run(ctx, t, "waiting for the members to be ONLINE", until(
		`[...document.querySelectorAll('tr[data-member] td.status')].every(td => td.textContent === 'ONLINE')`))
	// A mark on this page: the checks below see the page refresh itself, not a reload.
	get(ctx, t, "a mark on the page", chromedp.Evaluate[bool](`window.samePage = true`))
	vipPort := net.JoinHostPort(vip, strconv.Itoa(port))
	got := connect(t, vipPort, conns, false)
	if got["east"]+got["vm"] != conns || got["east"] == 0 || got["vm"] == 0 {
		t.Fatalf("answers by member %v, want %d from both east and vm", got, conns)
	}
	run(ctx, t, "waiting for the page to show the traffic", until(
		fmt.Sprintf(`window.samePage && document.getElementById('share-note').textContent.startsWith('%d new connections')`, conns)))
	e, m := percent(t, share("east", "measured")), percent(t, share("manual", "measured"))
	wantE := 100 * float64(got["east"]) / conns
	if before != "–" && before != "0.0%" {
		t.Errorf("before any traffic east's measured share shows %s, want – or 0.0%%", before)
	}
	if math.Abs(e-wantE) > 0.1 || math.Abs(e+m-100) > 0.2 {
		t.Errorf("measured shares east %.1f%%, manual %.1f%%; the backends counted east %.1f%%", e, m, wantE)
	}
	if e < 65 || e > 85 {
		t.Errorf("east got %.1f%% of new connections with weights 3:1, want about 75%%", e)
	}
	if n := share("east", "count"); n != strconv.Itoa(got["east"]) {
		t.Errorf("east's new connections shown %s, its backend counted %d", n, got["east"])
	}
	barW := get(ctx, t, "the measured bar", chromedp.AttributeValue(chromedp.CSS(`#share-chart g[data-owner="east"] rect.measured`), "width")).Value
	if w, _ := strconv.ParseFloat(barW, 64); w < 0.65*400 || w > 0.85*400 {
		t.Errorf("east's measured bar is %s wide, want about 0.75 × 400", barW)
	}

	// Open connections show as active connections (4 held open: 3 to east, 1 to the VM).
	run(ctx, t, "reloading the listener view", chromedp.Navigate(url+"/listeners/"+listenerID), visible("#share-chart"))
	get(ctx, t, "a mark on the page", chromedp.Evaluate[bool](`window.samePage = true`))
	held := connect(t, vipPort, 4, true)
	run(ctx, t, "waiting for the active connections", until(
		`window.samePage && [...document.querySelectorAll('tr[data-member] td.active')].reduce((n, td) => n + Number(td.textContent), 0) === 4`))
	if a := text(ctx, t, `section.owner-group[data-owner="east"] td.active`); a != strconv.Itoa(held["east"]) {
		t.Errorf("east's active connections shown %s, %d held open to it", a, held["east"])
	}

	// The screenshot the README shows.
	png := get(ctx, t, "the screenshot", chromedp.FullScreenshot(100))
	shot := filepath.Join(t.TempDir(), "console-listener.png")
	if os.Getenv("FLEETLB_WRITE_SCREENSHOT") == "1" {
		shot = screenshotPath
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}

	// The load balancer's page: its listener, pool and the members by owner, with live counters.
	run(ctx, t, "opening the load balancer", chromedp.Navigate(url+"/loadbalancers/"+lbID), visible(`section.listener[data-listener="`+listenerID+`"]`))
	lbRows := get(ctx, t, "the load balancer's member rows", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('section.listener tr[data-owner]')].map(tr => tr.dataset.owner + ' ' + tr.children[3].textContent + ' ' + tr.children[4].textContent + ' ' + tr.children[5].textContent)`))
	if want := []string{"east 3 ONLINE " + strconv.Itoa(held["east"]), "manual 1 ONLINE " + strconv.Itoa(held["vm"])}; strings.Join(lbRows, "; ") != strings.Join(want, "; ") {
		t.Errorf("the load balancer's page lists %q (owner, weight, health, active), want %q", lbRows, want)
	}
	run(ctx, t, "back to the listener", chromedp.Navigate(url+"/listeners/"+listenerID), visible("#share-chart"))

	// Re-weight the hand-added member to 3: the expected shares become even.
	vmRow := `section.owner-group[data-owner="manual"] tr[data-member]`
	run(ctx, t, "changing a weight", chromedp.SetValue(chromedp.CSS(vmRow+" input.weight"), "3"),
		click(vmRow+" .weight-form button"), notice("set to 3"))
	if e, m := share("east", "expected"), share("manual", "expected"); e != "50.0%" || m != "50.0%" {
		t.Errorf("after weight 3:3 expected shares east %s, manual %s; want 50.0%% each", e, m)
	}
	// Remove it: its group is gone, and so is the member behind the API.
	run(ctx, t, "removing a member", click(vmRow+" .remove-form button"), notice("removed"))
	groups := get(ctx, t, "the owner groups", chromedp.Evaluate[int](`document.querySelectorAll('section.owner-group').length`))
	ms, err := c.ListMembers(&model.ListMembersRequest{PoolId: l.DefaultPoolID})
	if err != nil {
		t.Fatal(err)
	}
	if groups != 1 || len(*ms.Members) != 1 || (*ms.Members)[0].Name != east {
		t.Errorf("after removing the hand-added member: %d owner groups on the page, the API lists %d members", groups, len(*ms.Members))
	}

	// Another cluster's controller adds a member (through the API): the open page shows its group
	// by itself.
	if _, err := c.CreateMember(&model.CreateMemberRequest{PoolId: l.DefaultPoolID, Body: &model.CreateMemberRequestBody{
		Member: &model.CreateMemberOption{Name: ptr("fleetlb/west/shop/frontend/" + strconv.Itoa(port)), Address: "127.0.0.3", ProtocolPort: ptr(int32(vmPort)), Weight: ptr(int32(1))}}}); err != nil {
		t.Fatal(err)
	}
	run(ctx, t, "waiting for the new owner on the open page", visible(`section.owner-group[data-owner="west"]`))

	// Log out: the pages ask for a login again.
	run(ctx, t, "logging out", click("#logout"), visible("#login-form"),
		chromedp.Navigate(url+"/listeners/"+listenerID), visible("#login-form"))
}
