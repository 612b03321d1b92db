/**
 * The dashboard page: renders the server's view (GET /api/state, then every push on the
 * /api/events stream) as plain DOM; uPlot draws each job's test loss and accuracy per checkpoint.
 * `data-testid` attributes are what the browser tests (test/browser/) read.
 */
import uPlot from "uplot";
import type { AccountView, DaemonView, DashboardView, DisputeView, JobView, TimelineEntry } from "../model";

type Child = Node | string | null | undefined | false;

function h(tag: string, attrs: Record<string, string | undefined> = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const short = (a: string): string => (a.length > 12 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a);
const addr = (a: string | null): HTMLElement => h("code", { title: a ?? "" }, a === null ? "—" : short(a));
const when = (sec: number): string => (sec > 0 ? new Date(sec * 1000).toLocaleString() : "—");
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function relative(target: number, now: number): string {
  const d = target - now;
  const a = Math.abs(d);
  if (a < 1) return "now";
  const [size, unit] = (
    [
      [86_400, "d"],
      [3_600, "h"],
      [60, "min"],
      [1, "s"],
    ] as const
  ).find(([u]) => a >= u) ?? [1, "s"];
  const n = Math.floor(a / size);
  return d > 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
}

function badge(text: string, testid?: string): HTMLElement {
  return h("span", { class: `badge badge-${text.toLowerCase()}`, "data-testid": testid }, text);
}

function timeline(entries: TimelineEntry[], testid: string): HTMLElement {
  return h(
    "ol",
    { class: "timeline", "data-testid": testid },
    entries.map((e) =>
      h(
        "li",
        { "data-stage": e.stage, title: `block ${e.block}, ${when(e.time)}` },
        h("span", { class: "stage" }, e.stage),
        e.detail ? h("span", { class: "detail" }, e.detail) : null,
      ),
    ),
  );
}

// Charts survive re-renders while their data is unchanged (no flicker on every push).
const charts = new Map<string, { key: string; el: HTMLElement; plot: uPlot }>();

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function lossChart(job: JobView): HTMLElement | null {
  const r = job.result;
  if (r === null || r.state !== "ok") return null;
  const key = `${document.documentElement.dataset.theme}:${JSON.stringify(r.checkpoints)}`;
  const cached = charts.get(job.id);
  if (cached?.key === key) return cached.el;
  cached?.plot.destroy();
  const el = h("div", { class: "chart", "data-testid": "loss-chart", "data-points": String(r.checkpoints.length) });
  const axis = { stroke: css("--muted"), grid: { stroke: css("--grid") }, ticks: { stroke: css("--grid") } };
  const plot = new uPlot(
    {
      width: 420,
      height: 200,
      scales: { x: { time: false }, acc: { range: [0, 100] } },
      axes: [
        { ...axis, label: "step" },
        { ...axis, label: "test loss" },
        { ...axis, scale: "acc", side: 1, label: "accuracy %", grid: { show: false } },
      ],
      series: [
        { label: "step" },
        { label: "test loss", stroke: css("--loss"), width: 2, points: { show: true } },
        { label: "accuracy %", scale: "acc", stroke: css("--acc"), width: 2, points: { show: true } },
      ],
    },
    [r.checkpoints.map((c) => c.step), r.checkpoints.map((c) => c.loss), r.checkpoints.map((c) => c.accuracy * 100)],
    el,
  );
  charts.set(job.id, { key, el, plot });
  return el;
}

function resultPanel(job: JobView): HTMLElement | null {
  const r = job.result;
  if (r === null) return null;
  if (r.state === "pending") return h("p", { class: "muted", "data-testid": "result-pending" }, "evaluating the committed checkpoints…");
  if (r.state === "error") return h("p", { class: "error", "data-testid": "result-error" }, `no loss curve: ${r.error}`);
  return h(
    "div",
    { class: "result" },
    h(
      "p",
      {},
      "test accuracy ",
      h("strong", { "data-testid": "test-accuracy" }, pct(r.testAccuracy)),
      ` on ${r.testCount} held-out digits; ${r.checkpoints.length} checkpoints (T=${r.T}, k=${r.k}), each state hash-checked against the chain`,
    ),
    lossChart(job),
  );
}

function jobCard(j: JobView): HTMLElement {
  return h(
    "article",
    { class: "card", "data-testid": `job-${j.id}` },
    h("header", {}, h("h3", {}, `Job ${j.id}`), badge(j.status, "job-status")),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "reward"),
      h("dd", {}, j.reward),
      h("dt", {}, "fee"),
      h("dd", {}, j.verificationFee),
      h("dt", {}, "requester"),
      h("dd", {}, addr(j.requester)),
      h("dt", {}, "worker"),
      h("dd", {}, addr(j.worker)),
      j.disputes.length > 0 ? [h("dt", {}, "disputes"), h("dd", {}, j.disputes.map((d) => `#${d}`).join(", "))] : null,
      j.auditors.length > 0
        ? [
            h("dt", {}, "auditors"),
            h(
              "dd",
              { "data-testid": "auditors" },
              j.auditors.map((a) => h("span", { class: "chip" }, short(a.address), " ", a.state)),
            ),
          ]
        : null,
    ),
    timeline(j.timeline, "job-timeline"),
    resultPanel(j),
  );
}

function disputeCard(d: DisputeView, now: number): HTMLElement {
  return h(
    "article",
    { class: "card", "data-testid": `dispute-${d.id}` },
    h(
      "header",
      {},
      h("h3", {}, `Dispute ${d.id}`),
      badge(d.phase, "dispute-phase"),
      d.ruling !== "None" ? badge(d.ruling, "dispute-ruling") : null,
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "job"),
      h("dd", {}, `#${d.jobId}, interval ${d.interval}`),
      h("dt", {}, "challenger"),
      h("dd", {}, addr(d.challenger)),
      h("dt", {}, "bond"),
      h("dd", {}, d.bond),
      d.step !== null ? [h("dt", {}, "step"), h("dd", {}, String(d.step))] : null,
    ),
    timeline(d.timeline, "dispute-timeline"),
    d.deadlines.length > 0
      ? h(
          "ul",
          { class: "deadlines", "data-testid": "deadlines" },
          d.deadlines.map((x) => h("li", { "data-at": String(x.at) }, `${x.what} ${when(x.at)} (${relative(x.at, now)})`)),
        )
      : null,
    d.rounds.map((r) =>
      h(
        "table",
        { class: "votes", "data-testid": `round-${r.round}` },
        h(
          "caption",
          {},
          `Round ${r.round}: quorum ${r.quorum}, commit by ${when(r.commitEnd)}, reveal by ${when(r.revealEnd)}${r.outcome ? ` → ${r.outcome}` : ""}`,
        ),
        h("tr", {}, h("th", {}, "juror"), h("th", {}, "committed"), h("th", {}, "revealed"), h("th", {}, "vote")),
        r.votes.map((v) =>
          h(
            "tr",
            { "data-testid": "vote" },
            h("td", {}, addr(v.juror)),
            h("td", {}, v.committed ? "✓" : "·"),
            h("td", {}, v.revealed ? "✓" : "·"),
            h("td", {}, v.vote ?? "—"),
          ),
        ),
      ),
    ),
  );
}

function accountsTable(accounts: AccountView[]): HTMLElement {
  const amount = (a: { text: string } | null): string => a?.text ?? "—";
  return h(
    "table",
    { class: "accounts", "data-testid": "accounts" },
    h(
      "tr",
      {},
      ["account", "roles", "free", "locked", "unbonding", "juror reserve", "locks", "credits"].map((t) => h("th", {}, t)),
    ),
    accounts.map((a) =>
      h(
        "tr",
        { "data-testid": "account", "data-address": a.address },
        h("td", {}, addr(a.address)),
        h("td", {}, a.roles.join(", ")),
        h("td", {}, amount(a.free)),
        h("td", {}, amount(a.locked)),
        h("td", {}, amount(a.unbonding)),
        h("td", {}, amount(a.jurorReserve)),
        h(
          "td",
          { "data-testid": "locks" },
          a.locks.map((l) => h("div", { title: l.lockId }, `${l.label}: ${l.amount}`)),
        ),
        h(
          "td",
          { "data-testid": "credits" },
          a.credits.map((c) => h("div", {}, `${c.ledger}: ${c.amount.text}`)),
        ),
      ),
    ),
  );
}

function daemonsTable(daemons: DaemonView[]): HTMLElement {
  const c = (d: DaemonView, n: string): string => String(d.counters[`upow_${n}_total`] ?? "—");
  return h(
    "table",
    { class: "daemons", "data-testid": "daemons" },
    h(
      "tr",
      {},
      ["daemon", "role", "state", "head", "jobs claimed / finalized", "audits", "disputes opened / answered", "tx failures"].map((t) =>
        h("th", {}, t),
      ),
    ),
    daemons.map((d) =>
      h(
        "tr",
        { "data-testid": "daemon", "data-url": d.url },
        h("td", {}, h("code", {}, d.url)),
        h("td", {}, d.role ?? "—"),
        h(
          "td",
          {},
          badge(!d.up ? "down" : d.healthy === false ? "unhealthy" : "healthy", "daemon-state"),
          d.error ? h("div", { class: "error" }, d.error) : null,
        ),
        h("td", {}, d.headBlock === null ? "—" : `#${d.headBlock}${headAge(d.headAgeSeconds)}`),
        h("td", { "data-testid": "daemon-jobs" }, `${c(d, "jobs_claimed")} / ${c(d, "jobs_finalized")}`),
        h("td", {}, c(d, "audits_run")),
        h("td", {}, `${c(d, "disputes_opened")} / ${c(d, "disputes_answered")}`),
        h("td", {}, c(d, "tx_failures")),
      ),
    ),
  );
}

/** A local chain whose clock was moved forward (tests, demos) has blocks "from the future". */
function headAge(sec: number | null): string {
  if (sec === null) return "";
  return sec >= 0 ? ` (${Math.round(sec)} s old)` : " (chain clock ahead of this one)";
}

function section(title: string, testid: string, count: number, body: HTMLElement | HTMLElement[], empty: string): HTMLElement {
  return h(
    "section",
    { "data-testid": testid },
    h("h2", {}, title, h("span", { class: "count" }, String(count))),
    count === 0 ? h("p", { class: "muted" }, empty) : body,
  );
}

let live = false;
let current: DashboardView | null = null;

function render(v: DashboardView): void {
  current = v;
  const now = v.head.time;
  const app = document.getElementById("app")!;
  app.replaceChildren(
    h(
      "header",
      { class: "top" },
      h("h1", {}, "uPoW"),
      h("span", { class: "muted" }, `${v.network} (chain ${v.chainId})`),
      h("span", { "data-testid": "head" }, `block #${v.head.block}`, h("span", { class: "muted" }, ` ${when(v.head.time)}`)),
      h("span", { class: `live ${live ? "on" : "off"}`, "data-testid": "live" }, live ? "live" : "reconnecting"),
      h(
        "button",
        { type: "button", "data-testid": "theme-toggle", title: "dark / light" },
        document.documentElement.dataset.theme === "dark" ? "☀ light" : "☾ dark",
      ),
    ),
    section("Daemons", "daemons-panel", v.daemons.length, daemonsTable(v.daemons), "no --metrics-url given"),
    section("Jobs", "jobs-panel", v.jobs.length, h("div", { class: "grid" }, v.jobs.map(jobCard)), "no jobs yet"),
    section(
      "Disputes",
      "disputes-panel",
      v.disputes.length,
      h(
        "div",
        { class: "grid" },
        v.disputes.map((d) => disputeCard(d, now)),
      ),
      "no disputes",
    ),
    section("Accounts", "accounts-panel", v.accounts.length, accountsTable(v.accounts), "no accounts seen"),
  );
  app.querySelector<HTMLButtonElement>("[data-testid=theme-toggle]")!.onclick = toggleTheme;
}

function toggleTheme(): void {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem("upow-theme", next);
  } catch {
    // storage disabled: the choice lasts for this page
  }
  if (current !== null) render(current);
}

function connect(): void {
  const es = new EventSource("/api/events");
  es.addEventListener("state", (e) => {
    live = true;
    render(JSON.parse((e as MessageEvent<string>).data) as DashboardView);
  });
  es.onerror = () => {
    live = false;
    if (current !== null) render(current);
  };
}

void fetch("/api/state")
  .then(async (r) => render((await r.json()) as DashboardView))
  .finally(connect);
