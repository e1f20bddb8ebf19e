package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/dashboard"
	"github.com/berth/berth/internal/cptest"
)

// The browser tests drive Debian's chromium (apt-get install -y chromium)
// headless. Without it they skip, unless BERTH_REQUIRE_DOCKER is set (CI),
// where a missing chromium fails them.

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("BERTH_REQUIRE_DOCKER") != "" {
		t.Fatal("chromium is not installed (apt-get install -y chromium), and BERTH_REQUIRE_DOCKER is set: the browser test must run")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium)")
	return ""
}

// browser starts a headless chromium for the test; it is stopped (and
// waited for) in the test's cleanup.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc() // waits for the browser process to end
	})
	if err := chromedp.Do(ctx); err != nil { // start it now, without a deadline
		t.Fatal(err)
	}
	return ctx
}

// within runs steps with a deadline.
func within(t *testing.T, ctx context.Context, d time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, pageState(t, ctx))
	}
}

// pressEnter presses and releases Enter once, as a keyboard does (one
// keydown that types "\r", one keyup).
func pressEnter() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
			ev := input.DispatchKeyEventParams{Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
			if typ == input.DispatchKeyEventTypeKeyDown {
				ev.Text, ev.UnmodifiedText = "\r", "\r"
			}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// pageState says what the page shows, for a failure's message.
func pageState(t *testing.T, ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		active: document.activeElement && (document.activeElement.dataset.task || document.activeElement.id || document.activeElement.tagName),
		dialog: document.querySelector('#task-dialog').open,
		task: document.querySelector('#task-body').innerText.slice(0, 2000),
		blocks: berthDash.blockCount(), errors: berthDash.stats.errors, live: document.querySelector('#live').textContent,
	})`))
	if err != nil {
		return "(page state: " + err.Error() + ")"
	}
	return "page: " + v
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func poll(js string, d time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(50*time.Millisecond))
}

// artifacts is where screenshots go: $BERTH_ARTIFACTS, or a temporary dir.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BERTH_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string, full bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	shot := chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100)
	}
	b, err := chromedp.Run(ctx, shot)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifacts(t), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func noPageErrors(t *testing.T, ctx context.Context) {
	t.Helper()
	if errs := eval[[]string](t, ctx, `berthDash.stats.errors`); len(errs) > 0 {
		t.Errorf("the page threw: %v", errs)
	}
}

// TestBrowser: load the page, unlock the controls with the token, scale a
// service from the page, see its blocks appear without a reload, open a
// task's explanation (with the mouse and with the keyboard).
func TestBrowser(t *testing.T) {
	ctx := browser(t, 1600, 1000)
	e := start(t, 3, m5large)
	e.service(t, "web", 256, 512, 1, &berthv1.PlacementStrategy{Type: "binpack", Field: "memory"})
	e.service(t, "api", 512, 1024, 2, &berthv1.PlacementStrategy{Type: "spread", Field: "instanceId"})
	runningTasks(t, e, 3)

	within(t, ctx, 30*time.Second, "load the page",
		chromedp.Navigate(e.base+"/"),
		poll(`document.querySelectorAll('#lanes .bin').length === 3 && berthDash.blockCount() === 3`, 20*time.Second),
	)
	eval[int](t, ctx, `window.__sameDocument = 42`)

	within(t, ctx, 20*time.Second, "unlock the controls",
		chromedp.Click(chromedp.CSS("#unlock")),
		chromedp.WaitVisible(chromedp.CSS("#token-input")),
		chromedp.SendKeys(chromedp.CSS("#token-input"), e.token),
		chromedp.Click(chromedp.CSS("#token-submit")),
		poll(`document.body.classList.contains('unlocked') && sessionStorage.getItem('berth.adminToken') !== null`, 10*time.Second),
		chromedp.WaitVisible(chromedp.CSS(`input[data-scale="web"]`)),
	)

	within(t, ctx, 40*time.Second, "scale web to 6 from the page",
		chromedp.SetValue(chromedp.CSS(`input[data-scale="web"]`), "6"),
		chromedp.Click(chromedp.CSS(`button[data-scale-submit="web"]`)),
		poll(`document.querySelectorAll('#lanes .task[data-service="web"]').length === 6`, 30*time.Second),
	)
	if eval[int](t, ctx, `window.__sameDocument`) != 42 {
		t.Fatal("the page reloaded")
	}
	d, err := e.ECS.DescribeServices(e.Ctx, &berthv1.DescribeServicesRequest{Services: []string{"web"}})
	if err != nil || d.GetServices()[0].GetDesiredCount() != 6 {
		t.Fatalf("web after scaling from the page: %v %v", d, err)
	}

	// Click a web task: its containers, host port and the strategy step.
	within(t, ctx, 20*time.Second, "open a task",
		chromedp.Click(chromedp.CSS(`#lanes .task[data-service="web"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#task-body [data-strategy-step]`)),
	)
	why := eval[string](t, ctx, `document.querySelector('#task-body').innerText`)
	if !strings.Contains(why, "binpack(memory)") || !strings.Contains(why, "→ 80/tcp") {
		t.Errorf("the task's explanation does not show the strategy step and the host port:\n%s", why)
	}
	screenshot(t, ctx, "dashboard-task.png", false)
	within(t, ctx, 10*time.Second, "close the task; the focus goes back to its block", chromedp.Click(chromedp.CSS("#task-close")),
		poll(`!document.querySelector('#task-dialog').open && document.activeElement.dataset.service === 'web'`, 5*time.Second))

	// The keyboard: focus an api task and press Enter.
	within(t, ctx, 20*time.Second, "focus an api task",
		chromedp.Focus(chromedp.CSS(`#lanes .task[data-service="api"]`)),
		poll(`document.activeElement.dataset.service === 'api'`, 5*time.Second))
	within(t, ctx, 20*time.Second, "open a task with the keyboard",
		pressEnter(),
		chromedp.WaitVisible(chromedp.CSS(`#task-body [data-strategy-step]`)),
	)
	if why := eval[string](t, ctx, `document.querySelector('#task-body').innerText`); !strings.Contains(why, "spread(instanceId)") {
		t.Errorf("the api task's explanation:\n%s", why)
	}
	within(t, ctx, 10*time.Second, "close with Escape", chromedp.KeyEvent("\x1b"),
		poll(`!document.querySelector('#task-dialog').open`, 5*time.Second))

	// Drain an instance from the page: it is marked.
	within(t, ctx, 20*time.Second, "drain an instance",
		chromedp.Click(chromedp.CSS(`#lanes .bin .drain`)),
		poll(`document.querySelectorAll('#lanes .bin.draining').length === 1`, 15*time.Second),
	)
	within(t, ctx, 20*time.Second, "the services view",
		chromedp.Click(chromedp.CSS("#tab-services")),
		poll(`document.querySelectorAll('#services .svc').length === 2 && document.querySelector('#events li') !== null`, 10*time.Second),
	)
	screenshot(t, ctx, "dashboard-services.png", true)
	within(t, ctx, 10*time.Second, "back to the cluster", chromedp.Click(chromedp.CSS("#tab-cluster")))
	screenshot(t, ctx, "dashboard-cluster.png", true)
	noPageErrors(t, ctx)
}

// TestBrowserLoad: 200 hollow instances and 2,000 tasks. It measures in the
// browser the time from the scale-up call to the blocks being in the DOM,
// and the frame times while they arrive, and logs them as JSON (never
// asserted).
func TestBrowserLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the load case runs 200 instances and 2,000 tasks")
	}
	const instances, tasks = 200, 2000
	ctx := browser(t, 1920, 1080)
	began := time.Now()
	e := start(t, 0, m5large)
	size := dashboard.InstanceType{Name: "c5.large", CPU: 2048, Memory: 4096}
	for i := range instances {
		e.StartAgentSized(t, i, size)
	}
	cptest.Eventually(t, "200 connected instances", func() bool {
		n := 0
		for _, in := range e.state(t, "default").Instances {
			if in.AgentConnected {
				n++
			}
		}
		return n == instances
	})
	e.service(t, "load", 128, 256, 0, &berthv1.PlacementStrategy{Type: "spread", Field: "instanceId"})
	setup := time.Since(began)

	within(t, ctx, time.Minute, "load the page",
		chromedp.Navigate(e.base+"/"),
		poll(fmt.Sprintf(`document.querySelectorAll('#lanes .bin').length === %d`, instances), 50*time.Second),
	)

	// Frame times from now on, and the scale-up from the page's origin
	// with the token, as the page's own control does.
	eval[chromedp.Void](t, ctx, `(() => {
		window.__frames = [];
		let prev = 0;
		const loop = (ts) => { if (prev) __frames.push(ts - prev); prev = ts; if (!window.__stopFrames) requestAnimationFrame(loop); };
		requestAnimationFrame(loop);
	})()`)
	status := eval[int](t, ctx, fmt.Sprintf(`(async () => {
		const target = %d;
		window.__lat = {};
		const t0 = performance.now();
		berthDash.onRender = () => {
			const n = berthDash.blockCount();
			if (n > 0 && !__lat.firstBlockMs) __lat.firstBlockMs = performance.now() - t0;
			if (n >= target && !__lat.allBlocksMs) __lat.allBlocksMs = performance.now() - t0;
			if (n >= target && !__lat.allRunningMs && !document.querySelector('#lanes .task.pending')) __lat.allRunningMs = performance.now() - t0;
		};
		const res = await fetch('/dashboard/api/services/scale', {method: 'POST',
			headers: {'Content-Type': 'application/json', 'Authorization': 'Bearer %s'},
			body: JSON.stringify({service: 'load', desiredCount: target})});
		__lat.scaleCallMs = performance.now() - t0;
		return res.status;
	})()`, tasks, e.token))
	if status != 200 {
		t.Fatalf("scale call: HTTP %d", status)
	}
	within(t, ctx, 5*time.Minute, "all 2,000 blocks in the DOM",
		poll(`window.__lat.allBlocksMs > 0 && window.__lat.allRunningMs > 0`, 4*time.Minute))

	// One change in a full page: kill a task, time until its block goes.
	eval[int](t, ctx, fmt.Sprintf(`(async () => {
		const b = document.querySelector('#lanes .task');
		const id = b.dataset.task;
		const t0 = performance.now();
		berthDash.onRender = () => {
			if (!__lat.oneStopMs && !document.querySelector('#lanes .task[data-task="' + id + '"]')) __lat.oneStopMs = performance.now() - t0;
		};
		const res = await fetch('/dashboard/api/tasks/stop', {method: 'POST',
			headers: {'Content-Type': 'application/json', 'Authorization': 'Bearer %s'},
			body: JSON.stringify({task: id})});
		return res.status;
	})()`, e.token))
	within(t, ctx, time.Minute, "the killed task's block goes", poll(`window.__lat.oneStopMs > 0`, 50*time.Second))

	raw := eval[json.RawMessage](t, ctx, `(() => {
		window.__stopFrames = true;
		berthDash.onRender = null;
		const q = (xs, p) => { if (!xs.length) return 0; const s = [...xs].sort((a, b) => a - b); return +s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1); };
		const f = __frames, r = berthDash.stats.renderMs;
		return {
			latency_ms: Object.fromEntries(Object.entries(__lat).map(([k, v]) => [k, Math.round(v)])),
			frames: {count: f.length, p50_ms: q(f, .5), p95_ms: q(f, .95), p99_ms: q(f, .99), max_ms: q(f, 1), over_50ms: f.filter((x) => x > 50).length},
			render: {count: r.length, p50_ms: q(r, .5), p95_ms: q(r, .95), max_ms: q(r, 1)},
			events: {snapshots: berthDash.stats.snapshots, deltas: berthDash.stats.deltas},
			dom: {bins: document.querySelectorAll('#lanes .bin').length, blocks: berthDash.blockCount(), nodes: document.getElementsByTagName('*').length},
		};
	})()`)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["instances"], m["tasks"], m["setup_s"] = instances, tasks, setup.Seconds()
	out, _ := json.Marshal(m)
	t.Logf("dashboard load: %s", out)
	screenshot(t, ctx, "dashboard-load.png", false)
	noPageErrors(t, ctx)
}
