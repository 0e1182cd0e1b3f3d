/**
 * Server-rendered HTML of the admin area: the operator dashboard's shell and the login form, in the
 * request's language (zh-CN by default). The shell holds every panel's frame (title, CSV link,
 * empty-state text); static/dashboard.js fetches each panel's JSON route and draws it, with the
 * messages and settings embedded as JSON. No inline script: the CSP allows scripts from our own
 * origin only.
 */
import { PANEL_NAMES, type PanelName, panelDefinition, RANGE_PRESETS } from '../../ops/dashboard.ts';
import { utcOffsetLabel } from '../../time-zone.ts';
import { fill, type Lang, MESSAGES, type MessageKey, type Messages } from './i18n.ts';

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
  * { box-sizing: border-box; }
  body { font: 14px/1.5 system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif;
    margin: 0; color: #0f172a; background: #f1f5f9; }
  header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 10px 20px; background: #0f172a; color: #f8fafc; }
  header h1 { font-size: 18px; margin: 0 auto 0 0; white-space: nowrap; }
  header a, header button { color: #f8fafc; font: inherit; }
  header nav { display: flex; gap: 12px; align-items: center; }
  header button { background: none; border: 1px solid #64748b; border-radius: 4px; padding: 2px 10px; cursor: pointer; }
  .bar { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 8px 20px; background: #fff; border-bottom: 1px solid #e2e8f0; }
  .bar form { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 0; }
  .bar .presets a { display: inline-block; padding: 2px 10px; border: 1px solid #cbd5e1; border-radius: 999px; color: #0f172a; text-decoration: none; }
  .bar .presets a[aria-current="true"] { background: #2563eb; border-color: #2563eb; color: #fff; }
  .bar input[type=date] { font: inherit; padding: 1px 4px; }
  .bar button { font: inherit; padding: 2px 10px; }
  .tz { color: #475569; font-size: 13px; }
  main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); }
  section.panel { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 12px 16px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  .panel-head { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; }
  .panel-head h2 { font-size: 16px; margin: 0 auto 4px 0; }
  .panel-head a { font-size: 13px; }
  .note, .muted, .asof { color: #64748b; font-size: 13px; }
  .empty { background: #f8fafc; border: 1px dashed #cbd5e1; border-radius: 6px; padding: 12px; color: #334155; }
  .error { color: #b91c1c; }
  code { background: #e2e8f0; border-radius: 3px; padding: 0 4px; font-size: 12.5px; word-break: break-all; }
  .chart { position: relative; height: 300px; }
  .scroll { overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e2e8f0; white-space: nowrap; }
  td.num, th.num { text-align: right; }
  td.wrap { white-space: normal; min-width: 220px; }
  th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
  th[aria-sort="ascending"] button::after { content: " ▲"; } th[aria-sort="descending"] button::after { content: " ▼"; }
  details { margin-top: 8px; } summary { cursor: pointer; color: #2563eb; font-size: 13px; }
  .cards { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); }
  .card { border: 1px solid #e2e8f0; border-radius: 8px; padding: 10px 12px; }
  .card h3 { font-size: 13px; font-weight: 600; margin: 0; color: #334155; }
  .card p { margin: 4px 0; }
  .card .big { font-size: 26px; font-weight: 700; line-height: 1.25; }
  .card .trio { display: flex; gap: 14px; flex-wrap: wrap; } .card .trio b { font-size: 20px; display: block; }
  .pos { color: #15803d; } .neg { color: #b91c1c; }
  .status { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: 12.5px; background: #e2e8f0; }
  .status-succeeded { background: #dcfce7; color: #166534; } .status-failed { background: #fee2e2; color: #991b1b; }
  .status-running { background: #fef3c7; color: #92400e; } .status-retrying { background: #ffedd5; color: #9a3412; }
  .status-paused, .status-skipped { background: #e0e7ff; color: #3730a3; }
  .heat td.cell { text-align: right; }
  .bar-cell { position: relative; }
  .bar-cell span.fill { position: absolute; left: 0; top: 3px; bottom: 3px; background: #dbeafe; border-radius: 2px; z-index: 0; }
  .bar-cell span.val { position: relative; z-index: 1; }
  h3.sub { font-size: 14px; margin: 12px 0 4px; }
  @media (max-width: 600px) {
    header, .bar { padding: 8px 12px; } main { padding: 10px; gap: 10px; }
    section.panel { padding: 10px; } .chart { height: 340px; }
    .scroll table th:first-child, .scroll table td:first-child { position: sticky; left: 0; background: #fff; }
    .card .big { font-size: 22px; }
    table.stack thead { display: none; }
    table.stack tr { display: block; border-bottom: 1px solid #cbd5e1; padding: 4px 0; }
    table.stack td { display: flex; justify-content: space-between; gap: 12px; border: 0; padding: 2px 4px;
      white-space: normal; text-align: right; min-width: 0; }
    table.stack td::before { content: attr(data-label); color: #64748b; text-align: left; white-space: nowrap; }
    table.stack td.wrap { display: block; text-align: left; } table.stack td.wrap::before { display: block; }
    table.stack td:empty { display: none; }
  }`;

function layout(lang: Lang, title: string, body: string): string {
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>`;
}

/** Messages with `code` spans for `backticked` parts, HTML-escaped. */
export function richText(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

export interface DashboardPageOptions {
  lang: Lang;
  timeZone: string;
  /** The range parameters of this request (from, to, days), passed on to the panels' routes. */
  query: Record<string, string>;
  base: string;
}

/** Panel order and width on the page. */
const LAYOUT: { name: PanelName; title: MessageKey; wide?: boolean }[] = [
  { name: 'headline', title: 'headline_title', wide: true },
  { name: 'growth', title: 'growth_title', wide: true },
  { name: 'cumulative', title: 'cumulative_title' },
  { name: 'hourly', title: 'hourly_title' },
  { name: 'channels', title: 'channels_title', wide: true },
  { name: 'cohorts', title: 'cohorts_title' },
  { name: 'tags', title: 'tags_title' },
  { name: 'pipes', title: 'pipes_title', wide: true },
];

/** Titles of the CSV tables of panels that have several. */
const TABLE_TITLES: Record<string, MessageKey> = {
  main: 'source',
  daily: 'day',
  runs: 'runs_title',
  queues: 'queues_title',
  quota: 'quota_title',
};

function panelFrame(t: Messages, base: string, query: Record<string, string>, p: (typeof LAYOUT)[number]) {
  const def = panelDefinition(p.name)!;
  const csvTables = Object.keys(def.tables);
  const csvLinks = csvTables
    .map((table, i) => {
      const title = TABLE_TITLES[table];
      const label = csvTables.length > 1 && title ? `${t.csv} · ${t[title]}` : t.csv;
      const params = new URLSearchParams({ ...(def.ranged ? query : {}), ...(i === 0 ? {} : { table }) });
      const href = `${base}/api/${p.name}.csv${params.size ? `?${params.toString()}` : ''}`;
      return `<a class="csv" data-table="${escapeHtml(table)}" href="${escapeHtml(href)}" download>${escapeHtml(label)}</a>`;
    })
    .join(' ');
  return `<section class="panel${p.wide ? ' wide' : ''}" id="panel-${p.name}" data-panel="${p.name}" data-state="loading" aria-busy="true">
<div class="panel-head"><h2>${escapeHtml(t[p.title])}</h2>${csvLinks}</div>
<div class="panel-body"><p class="muted">${escapeHtml(t.loading)}</p></div>
</section>`;
}

export function renderDashboard(options: DashboardPageOptions): string {
  const { lang, timeZone, query, base } = options;
  const t = MESSAGES[lang];
  const beijing = timeZone === 'Asia/Shanghai';
  const offset = utcOffsetLabel(timeZone);
  const tzLine = fill(beijing ? t.tz_beijing : t.tz_other, { zone: timeZone, offset });
  const tzShort = fill(beijing ? t.tz_short_beijing : t.tz_short_other, { zone: timeZone });
  const otherLang: Lang = lang === 'zh-CN' ? 'en' : 'zh-CN';
  const rangeQuery = (extra: Record<string, string>) => {
    const params = new URLSearchParams(extra);
    return `${base}/?${params.toString()}`;
  };
  const activeDays = query.from || query.to ? undefined : (query.days ?? '30');
  const presets = RANGE_PRESETS.map(
    (n) =>
      `<a href="${escapeHtml(rangeQuery({ days: String(n) }))}" data-days="${n}" aria-current="${String(activeDays === String(n))}">${escapeHtml(fill(t.preset, { n }))}</a>`,
  ).join(' ');
  const switchHref = (() => {
    const params = new URLSearchParams({ ...query, lang: otherLang === 'en' ? 'en' : 'zh-CN' });
    return `${base}/?${params.toString()}`;
  })();

  const body = `
<header><h1>${escapeHtml(t.title)}</h1>
<nav><a id="lang-switch" href="${escapeHtml(switchHref)}" hreflang="${otherLang}" lang="${otherLang}">${escapeHtml(t.switch_lang)}</a>
<a href="${base}/queues">${escapeHtml(t.queues_link)}</a>
<form method="post" action="${base}/logout"><button type="submit">${escapeHtml(t.logout)}</button></form></nav>
</header>
<div class="bar">
<form id="range" method="get" action="${base}/">
  <span>${escapeHtml(t.range_label)}</span>
  <span class="presets">${presets}</span>
  <label>${escapeHtml(t.range_from)} <input type="date" name="from" value="${escapeHtml(query.from ?? '')}"></label>
  <label>${escapeHtml(t.range_to)} <input type="date" name="to" value="${escapeHtml(query.to ?? '')}"></label>
  <button type="submit">${escapeHtml(t.range_apply)}</button>
  <span class="note" id="range-shown"></span>
  <span class="note">${escapeHtml(t.range_note)}</span>
</form>
<span class="tz" id="tz-label">${escapeHtml(tzLine)}</span>
</div>
<main>
${LAYOUT.map((p) => panelFrame(t, base, query, p)).join('\n')}
</main>
<script type="application/json" id="dashboard-config">${embedJson({
    lang,
    base,
    timeZone,
    tzShort,
    query,
    messages: t,
    panels: PANEL_NAMES.map((name) => ({ name, ranged: panelDefinition(name)!.ranged })),
  })}</script>
<script src="${base}/assets/chart.umd.js"></script>
<script src="${base}/assets/dashboard.js"></script>`;
  return layout(lang, t.title, body);
}

export function renderLogin(lang: Lang, refused = false): string {
  const t = MESSAGES[lang];
  return layout(
    lang,
    t.login_title,
    `<main><section class="panel"><h1>${escapeHtml(t.login_title)}</h1>
${refused ? `<p class="error">${escapeHtml(t.login_refused)}</p>` : ''}
<form method="post" action="/admin/login">
  <label>${escapeHtml(t.login_token)} <input type="password" name="token" autocomplete="current-password" required></label>
  <button type="submit">${escapeHtml(t.login_submit)}</button>
</form>
<p class="muted">${escapeHtml(t.login_hint)}</p>
</section></main>`,
  );
}
