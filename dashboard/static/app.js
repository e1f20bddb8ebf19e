// berth's placement dashboard. Plain JavaScript, no framework, no build:
// fetch and EventSource only. The model is filled by the event stream
// (a "snapshot", then "delta"s) and drawn at most once per animation frame;
// a bin is rebuilt only when something it shows changed.
"use strict";

(function () {
  const TOKEN_KEY = "berth.adminToken";
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79", "#ad494a", "#637939"];
  const STANDALONE = "#9e9e9e";

  const $ = (id) => document.getElementById(id);
  const el = (tag, props, ...children) => {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") e.className = v;
        else if (k === "text") e.textContent = v;
        else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
        else if (k in e && typeof v !== "string") e[k] = v;
        else e.setAttribute(k, v === true ? "" : v);
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  };
  const short = (id) => (id || "").slice(0, 8);
  const pct = (a, b) => (b > 0 ? Math.max(0, Math.min(100, (a / b) * 100)) : 0);
  const when = (sec) => (sec ? new Date(sec * 1000).toLocaleTimeString() : "");

  // The model.
  const S = {
    cluster: new URLSearchParams(location.search).get("cluster") || "default",
    clusters: [],
    instances: new Map(),
    tasks: new Map(),
    services: new Map(),
    controls: { instanceTypes: [], strategies: [] },
    revision: 0,
    dirty: { bins: true, services: true, controls: true },
  };

  // Test and measurement hooks (the browser test reads them).
  const stats = { renders: 0, renderMs: [], lastRenderAt: 0, snapshots: 0, deltas: 0, errors: [] };
  window.addEventListener("error", (ev) => stats.errors.push(String(ev.message)));
  window.addEventListener("unhandledrejection", (ev) => stats.errors.push(String(ev.reason)));
  window.berthDash = {
    stats,
    blockCount: () => document.querySelectorAll("#lanes .task").length,
    revision: () => S.revision,
    onRender: null,
  };

  // ---- token and controls -------------------------------------------------

  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  // access is what the data requests carry (EventSource sets no headers):
  // the page's own share link ("view") or token ("access"), else the admin
  // token the page was given.
  const pageQuery = new URLSearchParams(location.search);
  function access() {
    for (const name of ["view", "access"]) {
      const v = pageQuery.get(name);
      if (v) return "&" + name + "=" + encodeURIComponent(v);
    }
    return token() ? "&access=" + encodeURIComponent(token()) : "";
  }
  function setUnlocked(on) {
    document.body.classList.toggle("unlocked", on);
    $("controls").hidden = !on;
    $("unlock").hidden = on;
    $("lock").hidden = !on;
    S.dirty.bins = S.dirty.services = true;
    scheduleRender();
  }

  let toastTimer = 0;
  function toast(msg, bad) {
    const t = $("toast");
    t.textContent = msg;
    t.classList.toggle("bad", !!bad);
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 4000);
  }

  // post calls a control; it answers the decoded body, or throws with the
  // server's message (naming the field).
  async function post(path, body) {
    const res = await fetch("/dashboard/api/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token() },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await res.json(); } catch (e) { /* empty body */ }
    if (!res.ok) {
      if (res.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        setUnlocked(false);
      }
      throw new Error(errorText(data) || res.statusText);
    }
    return data;
  }
  // errorText is an error answer as the dashboard shows it: ECS's text, and
  // berth's own words (the field and the rule) beside it when they differ.
  function errorText(data) {
    if (!data.error) return "";
    return data.detail ? `${data.error} (${data.detail})` : data.error;
  }
  async function control(path, body, done) {
    try {
      await post(path, Object.assign({ cluster: S.cluster }, body));
      if (done) toast(done);
    } catch (e) {
      toast(e.message, true);
    }
  }

  function openTokenDialog() {
    $("token-error").textContent = "";
    $("token-input").value = "";
    $("token-dialog").showModal();
    $("token-input").focus();
  }
  $("unlock").addEventListener("click", openTokenDialog);
  $("lock").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setUnlocked(false);
    $("unlock").focus();
  });
  $("token-cancel").addEventListener("click", () => $("token-dialog").close());
  $("token-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const tok = $("token-input").value.trim();
    const res = await fetch("/dashboard/api/login", { method: "POST", headers: { "Authorization": "Bearer " + tok } });
    if (!res.ok) {
      let msg = "wrong token";
      try { msg = (await res.json()).error; } catch (e) { /* keep */ }
      $("token-error").textContent = msg;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, tok);
    $("token-dialog").close();
    setUnlocked(true);
    toast("Teacher controls unlocked");
    connect(); // the admin token also reads the data
  });

  $("add-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    control("instances/add", { zone: $("add-zone").value.trim(), instanceType: $("add-type").value },
      "Starting a " + $("add-type").value + " in " + $("add-zone").value);
  });

  // ---- views ----------------------------------------------------------------

  const tabs = [$("tab-cluster"), $("tab-services"), $("tab-registry"), $("tab-serverless"), $("tab-lb")];
  function selectTab(tab) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    }
    S.dirty.bins = S.dirty.services = S.dirty.views = true;
    scheduleRender();
    if (tab.id === "tab-registry") loadRegistry();
  }
  tabs.forEach((t, i) => {
    t.addEventListener("click", () => selectTab(t));
    t.addEventListener("keydown", (ev) => {
      if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
      const next = tabs[(i + (ev.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      selectTab(next);
      next.focus();
    });
  });

  $("cluster-picker").addEventListener("change", (ev) => {
    S.cluster = ev.target.value;
    const u = new URL(location.href);
    u.searchParams.set("cluster", S.cluster);
    history.replaceState(null, "", u);
    connect();
  });

  // ---- the event stream -------------------------------------------------------

  let source = null;
  function setLive(text, up) {
    const l = $("live");
    l.textContent = text;
    l.classList.toggle("up", up);
    l.classList.toggle("down", !up);
  }
  function connect() {
    if (source) source.close();
    S.instances.clear(); S.tasks.clear(); S.services.clear();
    setLive("Connecting…", false);
    source = new EventSource("/dashboard/api/events?cluster=" + encodeURIComponent(S.cluster) + access());
    source.addEventListener("snapshot", (ev) => applySnapshot(JSON.parse(ev.data)));
    source.addEventListener("delta", (ev) => applyDelta(JSON.parse(ev.data)));
    source.addEventListener("views", (ev) => applyViews(JSON.parse(ev.data)));
    source.addEventListener("open", () => setLive("Live", true));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (not a network error): most likely the cluster is gone.
        setLive(`Cannot watch cluster ${S.cluster}: retrying…`, false);
        setTimeout(() => {
          fetch("/dashboard/api/state?cluster=" + encodeURIComponent(S.cluster) + access()).then((res) => {
            if (res.status === 404 && S.cluster !== "default") S.cluster = "default";
            if (res.status === 401) setLive("This dashboard's data needs a share link (berth dashboard-url) or a token (Unlock)", false);
          }).catch(() => {}).finally(connect);
        }, 3000);
      } else {
        setLive("Reconnecting…", false);
      }
    });
  }

  function applySnapshot(st) {
    stats.snapshots++;
    S.revision = st.revision;
    S.clusters = st.clusters;
    S.controls = st.controls;
    S.instances = new Map(st.instances.map((i) => [i.id, i]));
    S.tasks = new Map(st.tasks.map((t) => [t.id, t]));
    S.services = new Map(st.services.map((s) => [s.name, s]));
    S.dirty = { bins: true, services: true, controls: true };
    applyViews(st.views);
    setLive("Live", true);
    scheduleRender();
  }

  function applyDelta(d) {
    stats.deltas++;
    S.revision = d.revision;
    for (const i of d.instances || []) S.instances.set(i.id, i);
    for (const t of d.tasks || []) S.tasks.set(t.id, t);
    for (const s of d.services || []) S.services.set(s.name, s);
    const r = d.removed || {};
    for (const id of r.instances || []) S.instances.delete(id);
    for (const id of r.tasks || []) S.tasks.delete(id);
    for (const n of r.services || []) S.services.delete(n);
    if (d.clusters) { S.clusters = d.clusters; S.dirty.controls = true; }
    if ((d.instances || []).length || (d.tasks || []).length || r.instances || r.tasks) S.dirty.bins = true;
    if ((d.services || []).length || r.services) S.dirty.services = S.dirty.bins = true;
    if ((d.tasks || []).length || r.tasks) loadRegistry();
    scheduleRender();
  }

  function applyViews(v) {
    if (!v) return;
    stats.views = (stats.views || 0) + 1;
    S.views = v;
    S.dirty.views = true;
    scheduleRender();
  }

  // ---- drawing -----------------------------------------------------------------

  let frame = 0;
  function scheduleRender() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  function colours() {
    const names = new Set(S.services.keys());
    for (const t of S.tasks.values()) if (t.service) names.add(t.service);
    const sorted = [...names].sort();
    const m = new Map();
    sorted.forEach((n, i) => m.set(n, PALETTE[i % PALETTE.length]));
    return m;
  }

  function render() {
    frame = 0;
    const t0 = performance.now();
    const col = colours();
    if (S.dirty.controls) { renderControls(); S.dirty.controls = false; }
    if (S.dirty.bins) { renderCluster(col); S.dirty.bins = false; }
    if (S.dirty.services) { renderLegend(col); renderServices(col); S.dirty.services = false; }
    if (S.dirty.views) { renderViews(); S.dirty.views = false; }
    const ms = performance.now() - t0;
    stats.renders++;
    stats.renderMs.push(ms);
    if (stats.renderMs.length > 2000) stats.renderMs.shift();
    stats.lastRenderAt = performance.now();
    if (window.berthDash.onRender) window.berthDash.onRender();
  }

  function renderControls() {
    const pick = $("cluster-picker");
    pick.replaceChildren(...S.clusters.map((c) => el("option", { value: c, text: c, selected: c === S.cluster })));
    const type = $("add-type");
    const keep = type.value;
    type.replaceChildren(...S.controls.instanceTypes.map((t) =>
      el("option", { value: t.name, text: `${t.name} (${t.cpu} CPU, ${t.memory} MiB)` })));
    type.value = keep || "m5.large";
    if (!type.value && type.options.length) type.selectedIndex = 0;
    const zones = new Set([...S.instances.values()].map((i) => i.zone).filter(Boolean));
    $("zones").replaceChildren(...[...zones, "us-east-1a", "us-east-1b", "us-east-1c"].map((z) => el("option", { value: z })));
    $("add-submit").disabled = !S.controls.addInstance;
    $("add-note").textContent = S.controls.addInstanceNote || "";
  }

  // Stranded capacity: a resource left on an instance whose other resource
  // cannot fit even the smallest task of the cluster.
  function smallestTask() {
    let cpu = Infinity, mem = Infinity;
    for (const t of S.tasks.values()) {
      if (t.cpu > 0) cpu = Math.min(cpu, t.cpu);
      if (t.memory > 0) mem = Math.min(mem, t.memory);
    }
    return { cpu: cpu === Infinity ? 128 : cpu, mem: mem === Infinity ? 128 : mem };
  }
  function capacity(inst, small) {
    const freeCPU = Math.max(0, inst.cpu - inst.cpuUsed);
    const freeMem = Math.max(0, inst.memory - inst.memoryUsed);
    const strandedCPU = freeMem < small.mem && freeCPU >= small.cpu ? freeCPU : 0;
    const strandedMem = freeCPU < small.cpu && freeMem >= small.mem ? freeMem : 0;
    return { freeCPU, freeMem, strandedCPU, strandedMem };
  }

  const lanes = new Map(); // lane key -> {el, grid}
  const bins = new Map(); // instance id -> {el, sig}

  function laneOf(inst) {
    return inst.lane === "fargate" ? "fargate" : "az:" + (inst.zone || "?");
  }
  function laneEl(key, title, cls) {
    let l = lanes.get(key);
    if (!l) {
      const grid = el("div", { class: "grid" });
      const h = el("h2", { text: title });
      const sec = el("section", { class: "lane " + cls, "aria-label": title }, h, grid);
      l = { el: sec, grid, h };
      lanes.set(key, l);
    }
    if (l.h.textContent !== title) {
      l.h.textContent = title;
      l.el.setAttribute("aria-label", title);
    }
    return l;
  }

  function renderCluster(col) {
    const root = $("lanes");
    const small = smallestTask();
    const byInst = new Map();
    const unplaced = [];
    for (const t of S.tasks.values()) {
      if (!t.instance || !S.instances.has(t.instance)) { unplaced.push(t); continue; }
      let l = byInst.get(t.instance);
      if (!l) byInst.set(t.instance, (l = []));
      l.push(t);
    }
    // Many instances: smaller bins, so that a projector shows more at once.
    document.body.classList.toggle("dense", S.instances.size > 24);
    document.body.classList.toggle("tiny", S.instances.size > 80);
    const insts = [...S.instances.values()].sort((a, b) =>
      (a.lane === b.lane ? 0 : a.lane === "fargate" ? 1 : -1) ||
      (a.zone || "").localeCompare(b.zone || "") || a.id.localeCompare(b.id));

    // Totals.
    let cpu = 0, mem = 0, freeCPU = 0, freeMem = 0, sCPU = 0, sMem = 0;
    const counts = new Map();
    for (const i of insts) {
      const c = capacity(i, small);
      cpu += i.cpu; mem += i.memory; freeCPU += c.freeCPU; freeMem += c.freeMem;
      sCPU += c.strandedCPU; sMem += c.strandedMem;
      const k = laneOf(i);
      counts.set(k, (counts.get(k) || 0) + 1);
    }
    $("summary").replaceChildren(
      el("span", null, el("b", { text: insts.length }), " instances"),
      el("span", null, el("b", { text: S.tasks.size }), " tasks"),
      el("span", null, "CPU free ", el("b", { text: freeCPU }), ` of ${cpu}`),
      el("span", null, "Memory free ", el("b", { text: freeMem }), ` of ${mem} MiB`),
      el("span", { class: "stranded" }, "Stranded ", el("b", { text: sCPU }), " CPU, ", el("b", { text: sMem }), " MiB"),
    );

    // Lanes: EC2 instances by availability zone, then the Fargate pool's
    // hosts in a lane of their own.
    const wanted = [];
    const seen = new Set();
    for (const i of insts) {
      const key = laneOf(i);
      if (seen.has(key)) continue;
      seen.add(key);
      const n = counts.get(key);
      const title = key === "fargate" ? `Fargate pool (${n} hosts, managed by berth)` : `${i.zone || "no zone"} · ${n} instance${n === 1 ? "" : "s"}`;
      wanted.push([key, laneEl(key, title, key === "fargate" ? "fargate" : "ec2")]);
    }
    if (unplaced.length) {
      const l = laneEl("unplaced", `Waiting for an instance (${unplaced.length})`, "waiting");
      l.grid.className = "unplaced";
      l.grid.replaceChildren(...unplaced.map((t) => taskButton(t, col, null)));
      wanted.push(["unplaced", l]);
    }
    if (!insts.length && !unplaced.length) {
      const l = laneEl("empty", "No container instances yet", "empty");
      l.grid.replaceChildren(el("p", { text: "Start an agent, or add a hollow instance from the teacher controls." }));
      wanted.push(["empty", l]);
    }
    const wantedKeys = new Set(wanted.map(([k]) => k));
    for (const [k, l] of lanes) if (!wantedKeys.has(k)) { l.el.remove(); lanes.delete(k); }
    wanted.forEach(([, l], i) => { if (root.children[i] !== l.el) root.insertBefore(l.el, root.children[i] || null); });

    // Bins, in order within their lanes.
    const pos = new Map();
    const unlocked = document.body.classList.contains("unlocked");
    for (const inst of insts) {
      const key = laneOf(inst);
      const l = lanes.get(key);
      const i = pos.get(key) || 0;
      pos.set(key, i + 1);
      const tasks = (byInst.get(inst.id) || []).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
      const sig = JSON.stringify([inst, small, unlocked, tasks.map((t) => [t.id, t.lastStatus, t.desiredStatus, t.cpu, t.memory, col.get(t.service) || ""])]);
      let b = bins.get(inst.id);
      if (!b) { b = { el: el("article", { class: "bin" }), sig: "" }; bins.set(inst.id, b); }
      if (b.sig !== sig) {
        b.sig = sig;
        drawBin(b.el, inst, tasks, col, capacity(inst, small));
      }
      if (l.grid.children[i] !== b.el) l.grid.insertBefore(b.el, l.grid.children[i] || null);
    }
    for (const [id, b] of bins) if (!S.instances.has(id)) { b.el.remove(); bins.delete(id); }
    for (const [k, l] of lanes) {
      if (k === "unplaced" || k === "empty") continue;
      const n = pos.get(k) || 0;
      while (l.grid.children.length > n) l.grid.lastChild.remove();
    }
  }

  function taskLabel(t, inst) {
    const who = t.service ? "service " + t.service : "standalone task (" + t.taskDefinition + ")";
    const where = inst ? "on " + short(inst.id) : "not placed yet";
    return `Task ${short(t.id)}, ${who}, ${t.lastStatus}, ${t.cpu} CPU, ${t.memory} MiB, ${where}`;
  }

  function taskButton(t, col, inst, reuse) {
    const b = reuse || el("button", { type: "button", class: "task", "data-task": t.id, onclick: () => openTask(t.id) });
    const label = taskLabel(t, inst);
    if (b.getAttribute("aria-label") !== label) {
      b.setAttribute("aria-label", label);
      b.title = label;
    }
    const look = [t.service, col.get(t.service), t.lastStatus, t.desiredStatus].join("|");
    if (b._look === look) return b;
    b._look = look;
    b.dataset.service = t.service || "";
    b.style.backgroundColor = t.service ? (col.get(t.service) || STANDALONE) : STANDALONE;
    b.classList.toggle("pending", t.lastStatus === "PENDING" || t.lastStatus === "PROVISIONING" || t.lastStatus === "ACTIVATING");
    b.classList.toggle("stopping", t.desiredStatus === "STOPPED" || t.lastStatus === "STOPPING" || t.lastStatus === "DEACTIVATING");
    return b;
  }

  // drawBin draws an instance. Its task blocks are kept by task id and only
  // updated, so that a block under the pointer or with the keyboard focus
  // stays the same element while the bin changes around it.
  function drawBin(node, inst, tasks, col, cap) {
    let p = node._parts;
    if (!p) {
      p = node._parts = {
        header: el("header"),
        box: el("div", { class: "box", role: "group" },
          el("span", { class: "axis x", text: "CPU →", "aria-hidden": "true" }),
          el("span", { class: "axis y", text: "↑ MiB", "aria-hidden": "true" })),
        free: el("div", { class: "free", "aria-hidden": "true" }),
        bars: el("div", { class: "bars" }),
        nums: el("p", { class: "nums" }),
        blocks: new Map(),
      };
      node.append(p.header, p.box, p.bars, p.nums);
    }
    const draining = inst.status === "DRAINING";
    const gone = !inst.agentConnected;
    node.className = "bin" + (draining ? " draining" : "") + (gone ? " disconnected" : "");
    node.dataset.instance = inst.id;
    const states = [inst.status];
    if (gone) states.push("agent disconnected");
    const label = `Instance ${short(inst.id)}, ${inst.instanceType || "unknown type"} in ${inst.zone || "no zone"}, ` +
      `${states.join(", ")}, ${tasks.length} tasks, ${cap.freeCPU} CPU and ${cap.freeMem} MiB free` +
      (cap.strandedCPU ? `, ${cap.strandedCPU} CPU stranded` : "") + (cap.strandedMem ? `, ${cap.strandedMem} MiB stranded` : "");
    node.setAttribute("aria-label", label);
    node.title = label;

    const unlocked = document.body.classList.contains("unlocked");
    const headSig = [inst.status, gone, inst.instanceType, inst.zone, unlocked].join("|");
    if (p.headSig !== headSig) {
      p.headSig = headSig;
      const headerFocused = p.header.contains(document.activeElement);
      p.header.replaceChildren(...[
        el("h3", { text: short(inst.id), title: inst.id }),
        el("span", { class: "tag type", text: inst.instanceType || "?" }),
        el("span", { class: "tag az", text: inst.zone || "?" }),
        draining && el("span", { class: "badge draining", text: "DRAINING" }),
        gone && el("span", { class: "badge disconnected", text: "AGENT DISCONNECTED" }),
        el("button", {
          type: "button", class: "drain needs-token",
          text: draining ? "Activate" : "Drain",
          "aria-label": (draining ? "Make ACTIVE " : "Drain ") + "instance " + short(inst.id),
          onclick: () => control("instances/state", { instance: inst.id, status: draining ? "ACTIVE" : "DRAINING" },
            (draining ? "Activated " : "Draining ") + short(inst.id)),
        }),
      ].filter(Boolean));
      if (headerFocused) p.header.querySelector("button").focus();
    }

    p.box.setAttribute("aria-label", `Tasks on ${short(inst.id)}: CPU to the right, memory upwards`);
    const keep = new Set();
    let x = 0, y = 0, prev = p.box.children[1]; // after the two axis labels
    for (const t of tasks) {
      keep.add(t.id);
      let b = p.blocks.get(t.id);
      b = taskButton(t, col, inst, b);
      p.blocks.set(t.id, b);
      const geo = [x, y, t.cpu, t.memory, inst.cpu, inst.memory].join(",");
      if (b._geo !== geo) {
        b._geo = geo;
        b.style.left = pct(x, inst.cpu) + "%";
        b.style.bottom = pct(y, inst.memory) + "%";
        b.style.width = pct(t.cpu, inst.cpu) + "%";
        b.style.height = pct(t.memory, inst.memory) + "%";
      }
      x += t.cpu; y += t.memory;
      if (prev.nextSibling !== b) prev.after(b);
      prev = b;
    }
    for (const [id, b] of p.blocks) if (!keep.has(id)) { b.remove(); p.blocks.delete(id); }

    const usedX = pct(inst.cpuUsed, inst.cpu), usedY = pct(inst.memoryUsed, inst.memory);
    if (usedX < 100 || usedY < 100) {
      // What is left: the top-right rectangle. When one resource is used up
      // the other's rest is a thin strip along the edge, hatched as stranded.
      const stranded = cap.strandedCPU > 0 || cap.strandedMem > 0;
      p.free.className = "free" + (stranded ? " stranded" : "");
      p.free.textContent = usedX >= 100 || usedY >= 100 ? "" : stranded ? "stranded" : "free";
      p.free.style.left = usedX >= 100 ? "calc(100% - 8px)" : usedX + "%";
      p.free.style.bottom = usedY >= 100 ? "calc(100% - 8px)" : usedY + "%";
      if (p.free.parentNode !== p.box) p.box.append(p.free);
    } else {
      p.free.remove();
    }

    const numSig = [inst.cpu, inst.memory, inst.cpuUsed, inst.memoryUsed, cap.strandedCPU, cap.strandedMem].join(",");
    if (p.numSig === numSig) return;
    p.numSig = numSig;
    const bar = (used, total) => {
      const b = el("div", { class: "bar", role: "img", "aria-label": `${used} of ${total} used` }, el("span"));
      b.firstChild.style.width = pct(used, total) + "%";
      return b;
    };
    p.bars.replaceChildren(
      el("span", { text: "CPU" }), bar(inst.cpuUsed, inst.cpu),
      el("span", { text: "Mem" }), bar(inst.memoryUsed, inst.memory));
    p.nums.replaceChildren(
      `free ${cap.freeCPU}/${inst.cpu} CPU · ${cap.freeMem}/${inst.memory} MiB`,
      cap.strandedCPU > 0 ? el("span", { class: "stranded", text: ` · ${cap.strandedCPU} CPU stranded (no memory left)` }) : "",
      cap.strandedMem > 0 ? el("span", { class: "stranded", text: ` · ${cap.strandedMem} MiB stranded (no CPU left)` }) : "");
  }

  // ---- services ------------------------------------------------------------------

  const svcControls = new Map(); // service name -> controls element, kept so typing survives redraws

  function serviceControls(s) {
    let c = svcControls.get(s.name);
    if (c) return c;
    const count = el("input", { type: "number", min: "0", step: "1", value: String(s.desiredCount),
      "aria-label": `Desired count of ${s.name}`, "data-scale": s.name });
    const scale = el("button", { type: "button", text: "Scale", "data-scale-submit": s.name, "aria-label": `Scale ${s.name}`,
      onclick: () => {
        const n = Number(count.value);
        control("services/scale", { service: s.name, desiredCount: Number.isInteger(n) ? n : -1 }, `Scaling ${s.name} to ${count.value}`);
      } });
    const strat = el("select", { "aria-label": `Placement strategy of ${s.name}`, "data-strategy": s.name },
      ...S.controls.strategies.map((n) => el("option", { value: n, text: n })));
    const redeploy = el("input", { type: "checkbox", checked: true, "aria-label": `Redeploy ${s.name}'s tasks under the new strategy` });
    const apply = el("button", { type: "button", text: "Switch", "aria-label": `Switch ${s.name}'s placement strategy`,
      onclick: () => control("services/strategy", { service: s.name, strategy: strat.value, redeploy: redeploy.checked },
        `${s.name}: ${strat.value}${redeploy.checked ? ", redeploying" : ""}`) });
    c = el("span", { class: "svc-controls" }, count, scale, strat,
      el("label", { title: "replace the tasks so that they follow the new strategy" }, redeploy, " redeploy"), apply);
    if (s.placementStrategy && S.controls.strategies.includes(s.placementStrategy)) strat.value = s.placementStrategy;
    svcControls.set(s.name, c);
    return c;
  }

  const legendItems = new Map();
  function renderLegend(col) {
    const root = $("legend");
    const names = [...S.services.keys()].sort();
    const items = [];
    for (const n of names) {
      const s = S.services.get(n);
      let it = legendItems.get(n);
      if (!it) {
        const info = el("span");
        const sw = el("span", { class: "swatch", "aria-hidden": "true" });
        it = { el: el("div", { class: "legend-item", role: "listitem", "data-service": n }, sw, info), sw, info };
        legendItems.set(n, it);
      }
      it.sw.style.backgroundColor = col.get(n) || STANDALONE;
      it.info.replaceChildren(el("b", { text: n }), ` ${s.runningCount}/${s.desiredCount} running`,
        s.pendingCount ? `, ${s.pendingCount} pending` : "", s.placementStrategy ? ` · ${s.placementStrategy}` : "");
      const c = serviceControls(s);
      if (c.parentNode !== it.el) it.el.append(c);
      items.push(it.el);
    }
    for (const [n, it] of legendItems) if (!S.services.has(n)) { it.el.remove(); legendItems.delete(n); svcControls.delete(n); }
    const standalone = [...S.tasks.values()].some((t) => !t.service);
    const std = el("div", { class: "legend-item", role: "listitem" }, el("span", { class: "swatch", "aria-hidden": "true" }), "standalone tasks");
    std.firstChild.style.backgroundColor = STANDALONE;
    if (standalone) items.push(std);
    // Reorder without recreating the kept items (focus stays put).
    const cur = [...root.children];
    if (cur.length !== items.length || cur.some((c, i) => c !== items[i])) {
      const focused = root.contains(document.activeElement) ? document.activeElement : null;
      root.replaceChildren(...items);
      if (focused && document.body.contains(focused)) focused.focus();
    }
  }

  function renderServices(col) {
    if ($("view-services").hidden) return;
    const root = $("services");
    const focused = root.contains(document.activeElement) ? document.activeElement : null;
    const cards = [];
    for (const n of [...S.services.keys()].sort()) {
      const s = S.services.get(n);
      const sw = el("span", { class: "swatch", "aria-hidden": "true" });
      sw.style.backgroundColor = col.get(n) || STANDALONE;
      const deps = el("table", null,
        el("caption", { class: "visually-hidden", text: `Deployments of ${n}` }),
        el("thead", null, el("tr", null, ...["Deployment", "Status", "Task def", "Desired / running / pending", "Rollout"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", null, ...s.deployments.map((d) => el("tr", null,
          el("td", { text: d.id.slice(-8), title: d.id }), el("td", { text: d.status }), el("td", { text: d.taskDefinition }),
          el("td", { text: `${d.desiredCount} / ${d.runningCount} / ${d.pendingCount}` + (d.failedTasks ? ` (${d.failedTasks} failed)` : "") }),
          el("td", { class: "rollout-" + d.rolloutState, text: d.rolloutState, title: d.rolloutStateReason || "" })))));
      let failure = null;
      if (s.placementFailure) {
        const f = s.placementFailure;
        failure = el("div", { class: "failure", role: "note" },
          el("h4", { text: `Cannot place a task: ${f.reason}` }),
          el("p", { text: f.detail }),
          el("ul", null, ...f.filtered.map((c) => el("li", { text: `${c.filter}: ruled out ${c.ruledOut}` }))),
          f.closest && el("p", null, "Closest instance ", el("b", { text: short(f.closest.instance) }), " lacks ",
            f.closest.lacks.join(", ") || "nothing",
            ` (needs ${f.closest.cpu} more CPU, ${f.closest.memory} more MiB)`));
      }
      const events = el("ol", { "aria-label": `Latest events of ${n}` }, ...s.events.slice(0, 4).map((e) =>
        el("li", null, el("time", { text: when(e.createdAt) }), " ", e.message)));
      cards.push(el("article", { class: "svc", "aria-label": `Service ${n}` },
        el("h3", null, sw, n, el("span", { class: "tag", text: s.status })),
        el("div", { class: "counts" },
          el("span", null, "desired ", el("b", { text: s.desiredCount })),
          el("span", null, "running ", el("b", { text: s.runningCount })),
          el("span", null, "pending ", el("b", { text: s.pendingCount }))),
        el("p", null, "Strategy: ", el("b", { text: s.placementStrategy || "(none: ECS's default)" }), ` · ${s.taskDefinition}`),
        failure, el("div", { class: "scroll" }, deps), events));
    }
    if (!cards.length) cards.push(el("p", { text: "No services in this cluster." }));
    root.replaceChildren(...cards);
    if (focused && document.body.contains(focused)) focused.focus();

    const all = [];
    for (const s of S.services.values()) for (const e of s.events) all.push([s.name, e]);
    all.sort((a, b) => b[1].createdAt - a[1].createdAt);
    $("events").replaceChildren(...all.slice(0, 30).map(([n, e]) =>
      el("li", null, el("time", { text: when(e.createdAt) }), " ", el("b", { text: n }), ": ", e.message)));
  }

  // ---- the registry ----------------------------------------------------------------

  // loadRegistry draws the Registry view, when it is shown, from a fresh
  // read; a call while a read is in flight asks for one more after it.
  let registryBusy = false, registryAgain = false;
  async function loadRegistry() {
    if ($("view-registry").hidden) return;
    if (registryBusy) { registryAgain = true; return; }
    registryBusy = true;
    try {
      const res = await fetch("/dashboard/api/registry?cluster=" + encodeURIComponent(S.cluster) + access());
      const data = await res.json();
      if (!res.ok) throw new Error(errorText(data) || res.statusText);
      renderRegistry(data);
    } catch (e) {
      $("registry").replaceChildren(el("p", { class: "error", text: e.message }));
    } finally {
      registryBusy = false;
      if (registryAgain) { registryAgain = false; loadRegistry(); }
    }
  }
  $("registry-refresh").addEventListener("click", loadRegistry);

  const bytes = (n) => (n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B");

  function renderRegistry(data) {
    const cards = data.repositories.map((r) => {
      const images = el("table", null,
        el("caption", { class: "visually-hidden", text: `Images of ${r.name}` }),
        el("thead", null, el("tr", null, ...["Tags", "Digest", "Size", "Pushed at"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", null, ...r.images.map((i) => el("tr", { "data-digest": i.digest },
          el("td", { text: i.tags.join(", ") || "(untagged)" }), el("td", { text: i.digest.slice(0, 19), title: i.digest }),
          el("td", { text: bytes(i.size) }), el("td", { text: new Date(i.pushedAt * 1000).toLocaleString() })))));
      const tasks = r.tasks.length
        ? el("ul", { "aria-label": `Tasks running ${r.name}` }, ...r.tasks.map((u) => el("li", { "data-task": u.task },
          el("button", { type: "button", class: "link", text: short(u.task), onclick: () => openTask(u.task) }),
          ` ${u.lastStatus}: ` + u.containers.map((c, k) => `${c} (${u.images[k]})`).join(", "))))
        : el("p", { class: "note", text: "No task of this cluster runs it." });
      return el("article", { class: "svc", "aria-label": `Repository ${r.name}`, "data-repository": r.name },
        el("h3", null, r.name), el("p", { text: r.uri }),
        r.images.length ? el("div", { class: "scroll" }, images) : el("p", { class: "note", text: "No images." }),
        el("h4", { text: "Running tasks" }), tasks);
    });
    if (!cards.length) cards.push(el("p", { text: "No repositories." }));
    $("registry").replaceChildren(...cards);
  }

  // ---- the services' panels (Lambda, S3, EventBridge, load balancers, scaling) -----

  const rate = (x) => (x >= 10 ? x.toFixed(0) : x.toFixed(2));
  const ago = (sec) => (sec ? when(sec) : "never");
  const table = (caption, heads, rows) => el("div", { class: "scroll" }, el("table", null,
    el("caption", { class: "visually-hidden", text: caption }),
    el("thead", null, el("tr", null, ...heads.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", null, ...rows)));
  const empty = (text) => el("p", { class: "note", text });

  function renderViews() {
    const v = S.views;
    if (!v) return;
    const shown = new Set(v.panels);
    for (const p of ["functions", "buckets", "rules", "schedules", "loadBalancers", "scaling"]) $("panel-" + p).hidden = !shown.has(p);
    const errs = v.errors || {};
    // fail is the panel's error, as a list to spread (empty when none).
    const fail = (p) => (errs[p] ? [el("p", { class: "error", role: "alert", text: errs[p] })] : []);

    $("functions").replaceChildren(...fail("functions"), ...(v.functions.length ? v.functions.map((f) => {
      const e = f.environments, n = f.invocations;
      const what = f.packageType === "Zip" ? `Zip, ${f.runtime}` : f.packageType;
      return el("article", { class: "svc", "aria-label": `Function ${f.name}`, "data-function": f.name },
        el("h3", null, f.name, " ", el("span", { class: "note", text: f.state })),
        el("dl", { class: "facts" },
          el("dt", { text: "Package" }), el("dd", { text: what }),
          el("dt", { text: "Memory" }), el("dd", { text: `${f.memoryMB} MB, timeout ${f.timeoutSeconds} s` }),
          el("dt", { text: "Concurrency" }), el("dd", { "data-field": "concurrency", text: f.reservedConcurrency != null ? `${f.reservedConcurrency} reserved` : "unreserved" }),
          el("dt", { text: "Environments" }), el("dd", { "data-field": "environments", text: `${e.idle} warm, ${e.busy} busy, ${e.starting} cold starting` + (e.stopping ? `, ${e.stopping} stopping` : "") }),
          el("dt", { text: `Last ${n.windowSeconds / 60} min` }), el("dd", { "data-field": "invocations", text: `${n.recent} invocations, ${n.errors} errors, ${n.coldStarts} cold starts (${rate(n.perSecond)}/s)` }),
          el("dt", { text: "Since start" }), el("dd", { text: `${n.total} invocations, ${n.totalErrors} errors; last ${ago(n.lastAt)}` }),
          n.lastError ? el("dt", { text: "Last error" }) : null, n.lastError ? el("dd", { class: "error", text: n.lastError }) : null));
    }) : [empty("No functions.")]));

    $("buckets").replaceChildren(...fail("buckets"), v.buckets.length
      ? table("S3 buckets", ["Bucket", "Objects", "Created"], v.buckets.map((b) => el("tr", { "data-bucket": b.name },
        el("td", { text: b.name }), el("td", { "data-field": "objects", text: String(b.objects) }), el("td", { text: new Date(b.createdAt * 1000).toLocaleString() }))))
      : empty("No buckets."));

    const targetRows = (ts) => ts.map((t) => el("tr", { "data-target": t.id },
      el("td", { text: t.id }), el("td", { text: t.kind || "" , title: t.arn }), el("td", { text: t.arn.split(":").slice(5).join(":") }),
      el("td", { "data-field": "delivered", text: `${t.delivered} of ${t.matched}` }), el("td", { text: String(t.pending) }),
      el("td", { "data-field": "failed", text: String(t.failed) }), el("td", { text: ago(t.lastDeliveredAt) }),
      el("td", { class: t.lastError ? "error" : "", text: t.lastError || "" })));
    const targetHeads = ["Target", "Service", "Resource", "Delivered", "Pending", "Failed", "Last delivered", "Last error"];
    $("rules").replaceChildren(...fail("rules"), ...(v.rules.length ? v.rules.map((r) => el("article", { class: "svc", "aria-label": `Rule ${r.name}`, "data-rule": r.name },
      el("h3", null, r.name, " ", el("span", { class: "note", text: r.state })),
      el("p", { text: r.scheduleExpression ? `${r.scheduleExpression}; next ${ago(r.nextFire)}` : r.eventPattern }),
      el("p", { class: "note", text: `Last matched ${ago(r.lastMatchedAt)}` }),
      r.targets.length ? table(`Targets of ${r.name}`, targetHeads, targetRows(r.targets)) : empty("No targets.")))
      : [empty("No rules.")]));

    $("schedules").replaceChildren(...fail("schedules"), v.schedules.length
      ? table("Schedules", ["Schedule", "Expression", "State", "Next fire", "Last fire", "Target", "Delivered", "Failed"],
        v.schedules.map((s) => el("tr", { "data-schedule": `${s.group}/${s.name}` },
          el("td", { text: s.group === "default" ? s.name : `${s.group}/${s.name}` }),
          el("td", { text: s.expression + (s.timezone ? ` (${s.timezone})` : "") }), el("td", { text: s.state }),
          el("td", { "data-field": "next", text: s.nextFire ? new Date(s.nextFire * 1000).toLocaleString() : "none" }),
          el("td", { text: s.lastFire ? new Date(s.lastFire * 1000).toLocaleString() : "never" }),
          el("td", { text: s.target.arn.split(":").slice(5).join(":"), title: s.target.arn }),
          el("td", { text: `${s.target.delivered} of ${s.target.matched}` }),
          el("td", { text: String(s.target.failed), title: s.target.lastError || "" }))))
      : empty("No schedules."));

    $("loadbalancers").replaceChildren(...fail("loadBalancers"), ...(v.loadBalancers.length ? v.loadBalancers.map((lb) => el("article", { class: "svc", "aria-label": `Load balancer ${lb.name}`, "data-lb": lb.name },
      el("h3", null, lb.name, " ", el("span", { class: "note", text: lb.state })),
      lb.listeners.length ? table(`Listeners of ${lb.name}`, ["Listener", "Serves at", "Default action", "Rules"], lb.listeners.map((l) => el("tr", { "data-listener": String(l.port) },
        el("td", { text: `${l.protocol}:${l.port}` }), el("td", { text: l.addr || "not bound" }), el("td", { text: l.default }), el("td", { text: String(l.rules) }))))
        : empty("No listeners.")))
      : [empty("No load balancers.")]));

    $("targetgroups").replaceChildren(...(v.targetGroups.length ? v.targetGroups.map((tg) => el("article", { class: "svc", "aria-label": `Target group ${tg.name}`, "data-tg": tg.name },
      el("h3", null, tg.name, " ", el("span", { class: "note", text: `${tg.protocol}:${tg.port}, ${tg.targetType}` })),
      el("p", { "data-field": "traffic", text: `${rate(tg.requestsPerSecond)} req/s, ${rate(tg.perTargetPerSecond)} req/s per target; ${tg.healthy} of ${tg.targets.length} healthy; ${tg.requests} requests in all` }),
      el("p", { class: "note", text: (tg.loadBalancers.length ? `Behind ${tg.loadBalancers.join(", ")}. ` : "Behind no load balancer. ") + (tg.healthCheckPath ? `Health check ${tg.healthCheckPath}.` : "") }),
      tg.targets.length ? table(`Targets of ${tg.name}`, ["Target", "Port", "Health", "Req/s", "Reason"], tg.targets.map((t) => el("tr", { "data-target": `${t.id}:${t.port}`, class: "health-" + t.state },
        el("td", { text: t.id }), el("td", { text: String(t.port) }), el("td", { "data-field": "health", text: t.state }),
        el("td", { text: t.state === "healthy" || tg.healthy === 0 ? rate(tg.perTargetPerSecond) : "0" }),
        el("td", { text: t.description || t.reason || "" }))))
        : empty("No targets registered.")))
      : [empty("No target groups.")]));

    $("scaling").replaceChildren(...fail("scaling"), ...(v.scaling.length ? v.scaling.map(scalingCard) : [empty("No scalable targets.")]));
  }

  // scalingCard is a scalable target: its service's counts within min and
  // max, its policies' metric against their target and their alarms'
  // datapoints, the load generator (a teacher control) and the latest
  // activities.
  function scalingCard(st) {
    const id = st.resourceId;
    const unit = (p) => (p.metric === "ALBRequestCountPerTarget" ? " req/min per target" : p.metric.includes("Utilization") ? "%" : "");
    const policies = st.policies.length ? table(`Policies of ${id}`, ["Policy", "Metric", "Now", "Target", "Alarms"], st.policies.map((p) => el("tr", { "data-policy": p.name },
      el("td", { text: p.name + (p.type !== "TargetTrackingScaling" ? ` (${p.type})` : "") }),
      el("td", { text: p.metric || "", title: p.resourceLabel || "" }),
      el("td", { "data-field": "current", text: p.current != null ? rate(p.current) + unit(p) : "no data yet", title: p.evaluatedAt ? "evaluated " + when(p.evaluatedAt) : "" }),
      el("td", { "data-field": "target", text: p.metric ? rate(p.target) + unit(p) : "" }),
      el("td", { "data-field": "alarms", text: p.metric ? `${p.highDatapoints} above (${p.scaleOutAfter} scale out)` + (p.disableScaleIn ? ", no scale-in" : `, ${p.lowDatapoints} below (${p.scaleInAfter} scale in)`) : "" }))))
      : empty("No scaling policies.");
    const c = S.controls || {};
    const run = st.load;
    const running = !!run && run.state === "running";
    let loadText = "The load generator has not run.";
    if (run) {
      const tally = `${run.sent} requests sent` + (run.failed ? `, ${run.failed} failed` : "");
      loadText = running ? `Running: ${tally} at ${run.rate}/s, ${Math.ceil(run.remaining)} s left` : `${run.state === "finished" ? "Finished" : "Stopped"}: ${tally}`;
    }
    const load = c.load ? el("div", { class: "load", "aria-label": `Load generator of ${id}` },
      el("p", { "data-field": "load", text: loadText, title: run && run.lastError ? run.lastError : "" }),
      el("p", { class: "note", text: st.loadTarget ? `Sends GET ${st.loadTarget}` : `No load generator: ${st.loadNote || "no listener"}` }),
      st.loadTarget && !running ? el("button", { type: "button", class: "needs-token", "data-load-start": id,
        text: `Generate load (${c.loadRate} req/s for ${c.loadSeconds / 60} min)`,
        onclick: () => loadControl("scaling/load", id, `Load generator started on ${id}`) }) : null,
      running ? el("button", { type: "button", class: "danger needs-token", "data-load-stop": id, text: "Stop load",
        onclick: () => loadControl("scaling/load/stop", id, `Load generator stopped on ${id}`) }) : null) : null;
    return el("article", { class: "svc", "aria-label": `Scalable target ${id}`, "data-scaling": id },
      el("h3", null, id, " ", el("span", { class: "note", text: st.description || "" })),
      el("p", { "data-field": "capacity", text: `${st.desired} desired, ${st.running} running (min ${st.min}, max ${st.max})` }),
      policies, load,
      el("h4", { text: "Latest scaling activities" }),
      st.activities.length ? el("ol", { class: "events", "data-field": "activities" }, ...st.activities.map((a) => el("li", { title: a.cause || "" },
        el("time", { text: when(a.at) }), ` ${a.status}: ${a.description}` + (a.details ? ` (${a.details})` : ""))))
        : empty("No scaling activity yet."));
  }
  async function loadControl(path, id, done) {
    try {
      await post(path, { resourceId: id });
      toast(done);
    } catch (e) {
      toast(e.message, true);
    }
  }

  // ---- a task's details ----------------------------------------------------------

  let openTaskId = null;
  let taskLoads = 0; // only the latest load of the dialog draws
  async function openTask(id) {
    openTaskId = id;
    const d = $("task-dialog");
    $("task-title").textContent = "Task " + short(id);
    $("task-body").replaceChildren(el("p", { text: "Loading…" }));
    if (!d.open) d.showModal();
    $("task-close").focus();
    await loadTask(id);
  }
  async function loadTask(id) {
    const seq = ++taskLoads;
    let data;
    try {
      const res = await fetch(`/dashboard/api/task?cluster=${encodeURIComponent(S.cluster)}&task=${encodeURIComponent(id)}` + access());
      data = await res.json();
      if (!res.ok) throw new Error(errorText(data) || res.statusText);
    } catch (e) {
      if (seq === taskLoads) $("task-body").replaceChildren(el("p", { class: "error", text: e.message }));
      return;
    }
    if (seq !== taskLoads) return;
    const t = data.task;
    const inst = S.instances.get(t.instance);
    const facts = el("dl", null,
      el("dt", { text: "Task" }), el("dd", { text: t.id }),
      el("dt", { text: "Service" }), el("dd", { text: t.service || "(standalone)" }),
      el("dt", { text: "Task definition" }), el("dd", { text: t.taskDefinition }),
      el("dt", { text: "Status" }), el("dd", { text: `${t.lastStatus} (desired ${t.desiredStatus})` + (data.stoppedReason ? ": " + data.stoppedReason : "") }),
      el("dt", { text: "Reserves" }), el("dd", { text: `${t.cpu} CPU, ${t.memory} MiB` }),
      el("dt", { text: "Instance" }), el("dd", { text: t.instance ? `${t.instance}` + (inst ? ` (${inst.instanceType}, ${inst.zone})` : "") : "not placed yet" }),
      el("dt", { text: "Task role" }), el("dd", { text: data.taskRoleArn || "none" }),
      el("dt", { text: "Execution role" }), el("dd", { text: data.executionRoleArn || "none" }));
    // Secrets by name and where they come from; their values never reach the page.
    const secrets = data.secrets && data.secrets.length ? [el("h3", { text: "Secrets" }), el("table", null,
      el("caption", { class: "visually-hidden", text: "Secrets" }),
      el("thead", null, el("tr", null, ...["Container", "Name", "From"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", null, ...data.secrets.map((s) => el("tr", null,
        el("td", { text: s.container }), el("td", { text: s.name + (s.logOption ? " (log option)" : "") }), el("td", { text: s.valueFrom })))))] : [];
    const containers = el("table", null,
      el("caption", { class: "visually-hidden", text: "Containers" }),
      el("thead", null, el("tr", null, ...["Container", "Image", "Status", "Host ports"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", null, ...data.containers.map((c) => el("tr", null,
        el("td", { text: c.name }), el("td", { text: c.image }),
        el("td", { text: c.lastStatus + (c.healthStatus && c.healthStatus !== "UNKNOWN" ? ` (${c.healthStatus})` : "") + (c.exitCode !== undefined ? ` exit ${c.exitCode}` : "") + (c.reason ? ": " + c.reason : "") }),
        el("td", { text: c.ports.length ? c.ports.map((p) => `${p.hostPort} → ${p.containerPort}/${p.protocol}`).join(", ") : "none" })))));
    const why = el("section", { "aria-label": "Why it was placed here", class: "why" }, el("h3", { text: "Why here" }));
    const ex = data.explanation;
    if (ex) {
      if (ex.namedInstance) {
        why.append(el("p", { text: "The caller named this instance (StartTask or a DAEMON service): no strategy ranked it." }));
      } else {
        why.append(el("p", { text: `${ex.candidates} instance${ex.candidates === 1 ? "" : "s"} passed every filter (resources, ports, constraints).` }));
        why.append(el("ol", { class: "steps" }, ...ex.steps.map((s) => el("li", { "data-strategy-step": s.strategy },
          el("b", { text: s.strategy }), `: ranked ${s.candidates}, ${s.best} tied for best, this instance scored ${s.score} (lower ranks first)`))));
        if (!ex.steps.length) why.append(el("p", { text: "No placement strategy: any instance that fit would do." }));
        if (ex.tieBreak) why.append(el("p", { text: "Tie broken by " + ex.tieBreak + "." }));
      }
    }
    if (data.note) why.append(el("p", { class: "note", text: data.note }));
    if (data.waiting) {
      const f = data.waiting;
      why.append(el("div", { class: "failure" }, el("h4", { text: "Why it waits: " + f.reason }), el("p", { text: f.detail }),
        el("ul", null, ...f.filtered.map((c) => el("li", { text: `${c.filter}: ruled out ${c.ruledOut}` }))),
        f.closest && el("p", { text: `Closest instance ${short(f.closest.instance)} lacks ${f.closest.lacks.join(", ")}` })));
    }
    $("task-body").replaceChildren(facts, el("h3", { text: "Containers" }), containers, ...secrets, why);
  }
  $("task-close").addEventListener("click", () => $("task-dialog").close());
  $("task-refresh").addEventListener("click", () => openTaskId && loadTask(openTaskId));
  $("task-stop").addEventListener("click", async () => {
    if (!openTaskId) return;
    await control("tasks/stop", { task: openTaskId }, "Stopping task " + short(openTaskId));
    loadTask(openTaskId);
  });
  $("task-dialog").addEventListener("close", () => {
    // Browsers give the focus back to the block that opened the dialog;
    // if that block is gone (or the browser did not), focus its bin.
    const id = openTaskId;
    openTaskId = null;
    if (document.activeElement && document.activeElement !== document.body) return;
    const b = document.querySelector(`#lanes .task[data-task="${id}"]`) || document.querySelector("#lanes .task");
    if (b) b.focus();
  });

  // ---- start --------------------------------------------------------------------

  setUnlocked(!!token());
  connect();
})();
