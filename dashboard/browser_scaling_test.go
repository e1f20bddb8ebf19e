package dashboard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserScaling: the "Load balancers & scaling" tab shows the scalable
// target with its policy's metric against its target; the teacher's
// "Generate load" button starts the load generator, whose run shows live
// (requests sent, time left) while the service scales out, and "Stop load"
// stops it.
func TestBrowserScaling(t *testing.T) {
	ctx := browser(t, 1400, 1000)
	e := startScaling(t)
	card := `[data-scaling="` + webTarget + `"]`
	field := func(f string) string {
		return `((document.querySelector('` + card + ` [data-field="` + f + `"]') || {}).textContent || "")`
	}
	visible := func(sel string) string {
		return `(() => { const b = document.querySelector('` + sel + `'); return !!b && b.offsetParent !== null; })()`
	}
	start, stop := `button[data-load-start="`+webTarget+`"]`, `button[data-load-stop="`+webTarget+`"]`

	within(t, ctx, 40*time.Second, "the scaling panel",
		chromedp.Navigate(e.base+"/"),
		poll(`(berthDash.stats.views || 0) > 0`, 20*time.Second),
		chromedp.Click(chromedp.CSS("#tab-lb")),
		chromedp.WaitVisible(chromedp.CSS(card)),
		poll(field("capacity")+` === "1 desired, 0 running (min 1, max 4)"`, 10*time.Second),
		poll(`document.querySelector('`+card+` [data-policy="requests"]') !== null`, 10*time.Second),
		poll(field("target")+` === "600 req/min per target"`, 10*time.Second),
		poll(field("current")+`.endsWith("req/min per target")`, 20*time.Second), // evaluated
		poll(field("load")+` === "The load generator has not run."`, 5*time.Second),
	)
	if text := eval[string](t, ctx, `document.querySelector('`+card+`').innerText`); !strings.Contains(text, "Sends GET "+e.listener) || !strings.Contains(text, "ALBRequestCountPerTarget") {
		t.Errorf("the target's card:\n%s", text)
	}
	if eval[bool](t, ctx, visible(start)) {
		t.Error("the load button shows before the controls are unlocked")
	}
	if other := eval[string](t, ctx, `document.querySelector('[data-scaling="`+otherTarget+`"]').innerText`); !strings.Contains(other, "No load generator") {
		t.Errorf("the target without a request count policy:\n%s", other)
	}

	within(t, ctx, 20*time.Second, "unlock the controls",
		chromedp.Click(chromedp.CSS("#unlock")),
		chromedp.WaitVisible(chromedp.CSS("#token-input")),
		chromedp.SendKeys(chromedp.CSS("#token-input"), e.token),
		chromedp.Click(chromedp.CSS("#token-submit")),
		poll(`document.body.classList.contains('unlocked')`, 10*time.Second),
		poll(visible(start), 10*time.Second),
	)
	within(t, ctx, 60*time.Second, "generate load: the run shows live and web scales out",
		chromedp.Click(chromedp.CSS(start)),
		poll(field("load")+`.startsWith("Running: ") && !`+field("load")+`.startsWith("Running: 0 requests")`, 20*time.Second),
		poll(visible(stop), 10*time.Second),
		poll(`parseInt(`+field("capacity")+`) > 1 && document.querySelector('`+card+` [data-field="activities"] li') !== null`, 40*time.Second),
	)
	load := eval[string](t, ctx, field("load"))
	if !strings.Contains(load, "at 50/s") || !strings.Contains(load, " s left") {
		t.Errorf("the run: %q", load)
	}
	if acts := eval[string](t, ctx, field("activities")); !strings.Contains(acts, "Successful") {
		t.Errorf("the activities: %q", acts)
	}
	screenshot(t, ctx, "dashboard-scaling.png", true)

	within(t, ctx, 30*time.Second, "stop the load",
		chromedp.Click(chromedp.CSS(stop)),
		poll(field("load")+`.startsWith("Stopped: ")`, 20*time.Second),
		poll(visible(start), 10*time.Second),
	)
	if s := e.scaling(t)[webTarget]; s.Load == nil || s.Load.State != "stopped" || s.Load.Sent == 0 {
		t.Errorf("the run after the stop button: %+v", s.Load)
	}
	noPageErrors(t, ctx)
}
