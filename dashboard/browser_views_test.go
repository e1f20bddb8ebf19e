package dashboard_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserServicePanels: the "Functions & events" tab shows the
// function (package, memory, concurrency, environments, invocations,
// errors, cold starts), the bucket's object count, the rule's target with
// its delivery and the schedule's next fire time; the "Load balancers & scaling" tab
// the listener and the target group with its target's health and request
// rate, live as requests go through the listener. No secret's value is on
// the page.
func TestBrowserServicePanels(t *testing.T) {
	ctx := browser(t, 1400, 1000)
	e := startViews(t)
	e.send(20)

	within(t, ctx, 30*time.Second, "load the page",
		chromedp.Navigate(e.base+"/"),
		poll(`(berthDash.stats.views || 0) > 0`, 20*time.Second),
	)
	field := func(sel, f string) string {
		return `((document.querySelector('` + sel + ` [data-field="` + f + `"]') || {}).textContent || "")`
	}
	within(t, ctx, 40*time.Second, "the functions and events tab",
		chromedp.Click(chromedp.CSS("#tab-serverless")),
		chromedp.WaitVisible(chromedp.CSS(`#functions [data-function="thumbs"]`)),
		poll(field(`[data-function="thumbs"]`, "invocations")+`.startsWith("4 invocations, 1 errors, 1 cold starts")`, 30*time.Second),
		poll(field(`[data-function="thumbs"]`, "concurrency")+` === "5 reserved"`, 5*time.Second),
		poll(field(`[data-function="thumbs"]`, "environments")+`.includes("warm")`, 5*time.Second),
		poll(field(`[data-bucket="photos"]`, "objects")+` === "2"`, 5*time.Second),
		poll(field(`[data-rule="on-upload"] [data-target="thumbs"]`, "delivered")+` === "1 of 1"`, 30*time.Second),
		poll(field(`[data-schedule="default/nightly"]`, "next")+` !== "" && `+field(`[data-schedule="default/nightly"]`, "next")+` !== "none"`, 5*time.Second),
	)
	text := eval[string](t, ctx, `document.querySelector('#view-serverless').innerText`)
	for _, want := range []string{"Image", "256 MB", "rate(1 hour); next"} {
		if !strings.Contains(text, want) {
			t.Errorf("the tab lacks %q:\n%s", want, text)
		}
	}
	screenshot(t, ctx, "dashboard-functions-events.png", true)

	// Traffic through the listener while the tab is watched (a client
	// of the test's own, stopped before the test ends).
	stop, done := make(chan struct{}), make(chan struct{})
	var once sync.Once
	halt := func() { once.Do(func() { close(stop); <-done }) }
	t.Cleanup(halt)
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				e.send(1)
			}
		}
	}()
	within(t, ctx, 60*time.Second, "the load balancers tab, live",
		chromedp.Click(chromedp.CSS("#tab-lb")),
		chromedp.WaitVisible(chromedp.CSS(`#loadbalancers [data-lb="web"]`)),
		poll(`document.querySelector('[data-lb="web"]').innerText.includes('`+e.lb+`')`, 10*time.Second),
		poll(field(`[data-tg="web-tg"] [data-target]`, "health")+` === "healthy"`, 30*time.Second),
		poll(field(`[data-tg="web-tg"]`, "traffic")+`.includes("1 of 1 healthy") && !`+field(`[data-tg="web-tg"]`, "traffic")+`.startsWith("0.00 req/s")`, 30*time.Second),
	)
	screenshot(t, ctx, "dashboard-load-balancers.png", true)
	halt()
	if eval[bool](t, ctx, `document.querySelector('#panel-scaling').hidden`) || !strings.Contains(eval[string](t, ctx, `document.querySelector('#scaling').innerText`), "No scalable targets.") {
		t.Error("the scaling panel is hidden, or shows a target where none is registered")
	}
	all := eval[string](t, ctx, `document.documentElement.outerHTML`)
	for _, secret := range []string{ssmSecret, smSecret, lambdaSecret} {
		if strings.Contains(all, secret) {
			t.Errorf("the page shows a secret's value %q", secret)
		}
	}
	if strings.Contains(eval[string](t, ctx, `document.querySelector('#main').innerText`), "null") {
		t.Error(`the page shows "null"`)
	}
	noPageErrors(t, ctx)
}
