/**
 * Server-rendered HTML of the admin area: the growth dashboard and the login form. Tables (runs,
 * queues, totals) are plain HTML so they read without JavaScript; the two charts are drawn by
 * static/dashboard.js from the JSON embedded in the page. No inline script: the CSP allows scripts
 * from our own origin only.
 */
import type { DashboardData } from '../../ops/dashboard.ts';

export const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'";

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);

/** JSON inside <script type="application/json">: `<` escaped so no value can close the tag. */
const embedJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

const STYLE = `
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #0f172a; background: #f8fafc; }
  header { display: flex; gap: 16px; align-items: center; padding: 12px 24px; background: #0f172a; color: #f8fafc; }
  header h1 { font-size: 18px; margin: 0 auto 0 0; }
  header a, header button { color: #f8fafc; }
  header button { background: none; border: 1px solid #64748b; border-radius: 4px; padding: 4px 10px; cursor: pointer; }
  main { padding: 16px 24px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); }
  section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 12px 16px; }
  section.wide { grid-column: 1 / -1; }
  .chart { position: relative; height: 320px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e2e8f0; }
  .status-succeeded { color: #15803d; } .status-failed { color: #b91c1c; font-weight: 600; } .status-running { color: #b45309; }
  .cards { display: flex; gap: 24px; } .card b { display: block; font-size: 22px; }
  form.range { display: flex; gap: 8px; align-items: center; }
  .muted { color: #64748b; }`;

function layout(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>${escapeHtml(title)}</title><style>${STYLE}</style>${head}</head>
<body>${body}</body></html>`;
}

const fmtTime = (d: Date | null) => (d ? new Date(d).toISOString().replace('T', ' ').slice(0, 19) : '');

export function renderDashboard(data: DashboardData): string {
  const latestCumulate = [...data.cumulate.cumulate_user].reverse().find((v) => v !== null) ?? null;
  const runs = data.runs.length
    ? data.runs
        .map(
          (
            r,
          ) => `<tr data-job="${escapeHtml(r.job)}"><td>${escapeHtml(r.job)}</td><td>${escapeHtml(r.id)}</td>
<td class="status-${escapeHtml(r.status)}">${escapeHtml(r.status)}</td><td>${escapeHtml(r.trigger)}</td>
<td>${fmtTime(r.started_at)}</td><td>${fmtTime(r.finished_at)}</td><td>${escapeHtml(r.error ?? '')}</td></tr>`,
        )
        .join('\n')
    : '<tr><td colspan="7" class="muted">no sync has run yet</td></tr>';
  const queues = data.queues.length
    ? data.queues
        .map(
          (q) => `<tr data-queue="${escapeHtml(q.queue)}"><td>${escapeHtml(q.queue)}</td><td>${q.waiting}</td>
<td>${q.active}</td><td>${q.delayed}</td><td>${q.failed}</td></tr>`,
        )
        .join('\n')
    : '<tr><td colspan="5" class="muted">no queue configured</td></tr>';

  const body = `
<header><h1>wxsync: follower growth</h1>
<form class="range" method="get" action="/admin/">
  <label>from <input type="date" name="from" value="${escapeHtml(data.range.from)}"></label>
  <label>to <input type="date" name="to" value="${escapeHtml(data.range.to)}"></label>
  <button type="submit">show</button>
</form>
<a href="/admin/queues">queues</a>
<form method="post" action="/admin/logout"><button type="submit">log out</button></form>
</header>
<main>
<section class="wide"><div class="cards">
  <div class="card">followers stored now<b id="followers-now">${data.followers_now.subscribed}</b></div>
  <div class="card">WeChat's latest cumulative count<b id="cumulate-latest">${latestCumulate ?? '-'}</b></div>
  <div class="card">unsubscribed (stored)<b>${data.followers_now.unsubscribed}</b></div>
</div></section>
<section><div class="chart"><canvas id="growth-chart" aria-label="Net new followers per day by source"></canvas></div></section>
<section><div class="chart"><canvas id="cumulate-chart" aria-label="Cumulative followers, WeChat vs stored"></canvas></div></section>
<section><h2>Last runs per job</h2><table id="runs">
<thead><tr><th>job</th><th>run</th><th>status</th><th>trigger</th><th>started (UTC)</th><th>finished (UTC)</th><th>error</th></tr></thead>
<tbody>${runs}</tbody></table></section>
<section><h2>Queue depths</h2><table id="queues">
<thead><tr><th>queue</th><th>waiting</th><th>active</th><th>delayed</th><th>failed</th></tr></thead>
<tbody>${queues}</tbody></table></section>
</main>
<script type="application/json" id="dashboard-data">${embedJson(data)}</script>
<script src="/admin/assets/chart.umd.js"></script>
<script src="/admin/assets/dashboard.js"></script>`;
  return layout('wxsync dashboard', body);
}

export function renderLogin(message?: string): string {
  return layout(
    'wxsync admin: log in',
    `<main><section><h1>wxsync admin</h1>
${message ? `<p class="status-failed">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/admin/login">
  <label>Admin token <input type="password" name="token" autocomplete="current-password" required></label>
  <button type="submit">log in</button>
</form>
<p class="muted">The token is the server's ADMIN_TOKEN. API clients send it as "Authorization: Bearer ...".</p>
</section></main>`,
  );
}
