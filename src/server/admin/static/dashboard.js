// Operator dashboard: fetches every panel's JSON route (/admin/api/<panel>) and draws it, with the
// messages, language and time zone the server embedded in #dashboard-config. Charts are Chart.js,
// served from /admin/assets/chart.umd.js (no CDN: works offline). Every figure of a chart is also
// in a table (a <details> under it), so numbers can be read, copied and tested without a canvas.
// Times arrive already in CRON_TIMEZONE (ISO 8601 with the offset) and are shown as they are.
/* global Chart */
(() => {
  const config = JSON.parse(document.getElementById('dashboard-config').textContent);
  const t = config.messages;
  const locale = config.lang === 'en' ? 'en-US' : 'zh-CN';
  const fill = (template, values) =>
    template.replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));

  const numberFormat = new Intl.NumberFormat(locale);
  const percentFormat = new Intl.NumberFormat(locale, {
    style: 'percent',
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const num = (v) => (v === null || v === undefined ? t.none : numberFormat.format(v));
  const signed = (v) => (v === null || v === undefined ? t.none : v > 0 ? `+${num(v)}` : num(v));
  const pct = (v) => (v === null || v === undefined ? t.none : percentFormat.format(v));
  /** 2026-03-06T18:00:05+08:00 -> 2026-03-06 18:00:05 (already the zone's wall clock). */
  const time = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : t.none);
  const duration = (s) =>
    s < 60
      ? fill(t.seconds, { n: s.toFixed(1) })
      : fill(t.minutes, { m: Math.floor(s / 60), s: Math.round(s % 60) });
  const label = (key, fallback) => (key in t ? t[key] : fallback);
  const sign = (v) => (v > 0 ? 'pos' : v < 0 ? 'neg' : '');

  const palette = [
    '#2563eb',
    '#16a34a',
    '#f59e0b',
    '#dc2626',
    '#7c3aed',
    '#0891b2',
    '#db2777',
    '#65a30d',
    '#ea580c',
    '#475569',
  ];
  const colour = (i) => palette[i % palette.length];

  // --- DOM helpers (text only through textContent: no data is ever parsed as HTML) ---
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  /** A message with `backticked` parts as <code>. */
  function rich(text) {
    const span = el('span');
    text.split('`').forEach((part, i) => {
      span.append(i % 2 ? el('code', { text: part }) : part);
    });
    return span;
  }
  const asOf = (iso) =>
    el(
      'p',
      { class: 'asof' },
      iso ? fill(t.as_of, { time: `${time(iso)} ${config.tzShort}` }) : t.as_of_none,
    );
  const emptyBox = (text) => el('div', { class: 'empty', 'data-empty': true }, rich(text));

  /**
   * A table; `columns`: {key, label, num?, render?(row) -> node|string, value?(row) -> sortable}.
   * With `sortable`, header buttons sort by that column (aria-sort says which way).
   */
  function table(columns, rows, options = {}) {
    const tbody = el('tbody');
    const head = el('tr');
    let sortKey = options.sortKey;
    let sortDir = options.sortDir || 'descending';
    const value = (c, r) => (c.value ? c.value(r) : r[c.key]);
    const draw = () => {
      let shown = rows;
      if (sortKey) {
        const c = columns.find((x) => x.key === sortKey);
        const dir = sortDir === 'ascending' ? 1 : -1;
        shown = [...rows].sort((a, b) => {
          const va = value(c, a);
          const vb = value(c, b);
          if (va === vb) return 0;
          if (va === null || va === undefined) return 1;
          if (vb === null || vb === undefined) return -1;
          return (va < vb ? -1 : 1) * dir;
        });
      }
      tbody.replaceChildren(
        ...shown.map((r) =>
          el(
            'tr',
            options.rowAttrs ? options.rowAttrs(r) : {},
            columns.map((c) =>
              el(
                'td',
                {
                  class: [c.num ? 'num' : '', c.cls || ''].join(' ').trim() || undefined,
                  'data-col': c.key,
                  'data-label': c.label,
                },
                c.render ? c.render(r) : c.num ? num(r[c.key]) : (r[c.key] ?? t.none),
              ),
            ),
          ),
        ),
      );
      for (const th of head.children) {
        th.setAttribute('aria-sort', th.dataset.col === sortKey ? sortDir : 'none');
      }
    };
    for (const c of columns) {
      const th = el('th', { class: c.num ? 'num' : undefined, 'data-col': c.key, scope: 'col' });
      if (options.sortable) {
        th.append(el('button', { type: 'button', text: c.label }));
        th.firstChild.addEventListener('click', () => {
          sortDir = sortKey === c.key && sortDir === 'descending' ? 'ascending' : 'descending';
          sortKey = c.key;
          draw();
        });
      } else th.textContent = c.label;
      head.append(th);
    }
    draw();
    // `stack`: at phone width each row becomes a small card of label: value lines (see the CSS).
    return el(
      'div',
      { class: 'scroll' },
      el(
        'table',
        { id: options.id, class: options.stack ? 'stack' : undefined },
        el('thead', {}, head),
        tbody,
      ),
    );
  }
  const dataTable = (columns, rows, options) =>
    el('details', {}, el('summary', { text: t.data_table }), table(columns, rows, options));

  // --- charts ---
  const charts = new Map();
  function chart(id, spec) {
    const canvas = el('canvas', { id, role: 'img', 'aria-label': spec.title });
    const box = el('div', { class: 'chart' }, canvas);
    // Drawn once the canvas is in the document (Chart.js measures its parent).
    queueMicrotask(() => {
      charts.get(id)?.destroy();
      charts.set(
        id,
        new Chart(canvas, {
          type: spec.type,
          data: spec.data,
          options: {
            animation: false,
            responsive: true,
            maintainAspectRatio: false,
            locale,
            interaction: { mode: 'index', intersect: false },
            plugins: {
              legend: {
                position: 'bottom',
                labels: {
                  boxWidth: 12,
                  font: { size: narrow ? 10 : 12 },
                  ...(spec.legendFilter ? { filter: spec.legendFilter } : {}),
                },
              },
              tooltip: {
                callbacks: {
                  label: (ctx) => `${ctx.dataset.label}: ${num(spec.absolute ? Math.abs(ctx.raw) : ctx.raw)}`,
                },
              },
            },
            scales: spec.scales,
          },
        }),
      );
      canvas.dataset.rendered = 'true';
    });
    return box;
  }
  const numberTicks = { callback: (v) => num(v) };
  /** Phone width: smaller legends (the chart keeps its height for the bars). */
  const narrow = window.matchMedia('(max-width: 600px)').matches;

  // --- panels ---
  const renderers = {
    headline(p) {
      if (p.empty) return [emptyBox(t.headline_empty)];
      const trio = (items) =>
        el(
          'div',
          { class: 'trio' },
          items.map(([key, text, v, fmt]) =>
            el(
              'div',
              {},
              text,
              el('b', { id: key, class: fmt === signed ? sign(v) : undefined, text: (fmt || num)(v) }),
            ),
          ),
        );
      const card = (id, title, ...body) =>
        el('div', { class: 'card', id }, el('h3', { text: title }), ...body);
      const y = p.yesterday;
      return [
        el(
          'div',
          { class: 'cards' },
          card(
            'card-followers',
            t.followers_now,
            el('div', { class: 'big', id: 'hl-followers-now', text: num(p.followers_now.value) }),
            el('p', { class: 'muted', text: fill(t.followers_left, { n: num(p.followers_now.left) }) }),
            asOf(p.followers_now.as_of),
          ),
          card(
            'card-today',
            fill(t.today, { day: p.today.day }),
            trio([
              ['hl-today-new', t.new, p.today.new],
              ['hl-today-left', t.left, p.today.left],
              ['hl-today-net', t.net, p.today.net, signed],
            ]),
            el('p', { class: 'muted', text: t.today_source }),
            asOf(p.today.as_of),
          ),
          card(
            'card-yesterday',
            fill(t.yesterday, { day: y.day }),
            y.available
              ? [
                  trio([
                    ['hl-yesterday-new', t.new, y.new],
                    ['hl-yesterday-cancelled', t.left, y.cancelled],
                    ['hl-yesterday-net', t.net, y.net, signed],
                  ]),
                  el('p', {
                    class: 'muted',
                    id: 'hl-yesterday-cumulate',
                    text: fill(t.yesterday_cumulate, { n: num(y.cumulate) }),
                  }),
                ]
              : el(
                  'p',
                  { class: 'empty', id: 'hl-yesterday-pending', 'data-empty': true },
                  rich(t.yesterday_pending),
                ),
            el('p', { class: 'muted', text: t.yesterday_source }),
            asOf(y.as_of),
          ),
          card(
            'card-last7',
            t.last7,
            el('div', { class: `big ${sign(p.last7.net)}`, id: 'hl-last7-net', text: signed(p.last7.net) }),
            trio([
              ['hl-last7-new', t.new, p.last7.new],
              ['hl-last7-cancelled', t.left, p.last7.cancelled],
            ]),
            el('p', {
              class: 'muted',
              text: fill(t.last7_range, { from: p.last7.from, to: p.last7.to, days: p.last7.days_reported }),
            }),
            asOf(p.last7.as_of),
          ),
        ),
      ];
    },

    growth(p) {
      if (p.empty) return [emptyBox(fill(t.growth_empty, p.range))];
      const datasets = [];
      p.sources.forEach((s, i) => {
        const name = config.lang === 'en' ? s.label_en : s.label_zh;
        datasets.push({
          type: 'bar',
          label: `${name} · ${t.new}`,
          data: s.new,
          backgroundColor: colour(i),
          stack: 'flow',
          order: 2,
        });
        datasets.push({
          type: 'bar',
          label: `${name} · ${t.cancelled}`,
          data: s.cancelled.map((v) => -v),
          backgroundColor: `${colour(i)}80`,
          stack: 'flow',
          order: 2,
          cancel: true,
        });
      });
      datasets.push({
        type: 'line',
        label: t.net,
        data: p.net,
        borderColor: '#0f172a',
        backgroundColor: '#0f172a',
        stack: 'net',
        order: 0,
        pointRadius: 2,
      });
      const seen = new Map(p.daily.map((d) => [d.day, d]));
      const totals = p.days.map((day, i) => ({
        day,
        new: p.sources.reduce((n, s) => n + s.new[i], 0),
        cancelled: p.sources.reduce((n, s) => n + s.cancelled[i], 0),
        net: p.net[i],
        subscribe_events: seen.get(day)?.subscribe_events ?? 0,
        unsubscribe_events: seen.get(day)?.unsubscribe_events ?? 0,
      }));
      return [
        el('p', { class: 'note', text: t.growth_note }),
        chart('growth-chart', {
          title: t.growth_title,
          type: 'bar',
          data: { labels: p.days, datasets },
          absolute: true,
          legendFilter: (item, data) => !data.datasets[item.datasetIndex].cancel,
          scales: {
            x: { stacked: true },
            y: { stacked: true, ticks: numberTicks, title: { display: true, text: t.axis_people } },
          },
        }),
        dataTable(
          [
            { key: 'day', label: t.day },
            { key: 'new', label: t.new, num: true },
            { key: 'cancelled', label: t.cancelled, num: true },
            {
              key: 'net',
              label: t.net,
              num: true,
              render: (r) => el('span', { class: sign(r.net), text: signed(r.net) }),
            },
          ],
          totals,
          { id: 'growth-table', rowAttrs: (r) => ({ 'data-day': r.day }) },
        ),
      ];
    },

    cumulative(p) {
      if (p.empty) return [emptyBox(t.cumulative_empty)];
      const last = p.rows[p.rows.length - 1];
      return [
        el(
          'p',
          { id: 'cumulative-latest' },
          fill(t.cumulative_latest, {
            day: last.day,
            wechat: num(last.cumulate_user),
            stored: num(last.stored_followers),
            gap: signed(last.gap),
            share: last.cumulate_user ? pct(last.gap / last.cumulate_user) : t.none,
          }),
        ),
        chart('cumulate-chart', {
          title: t.cumulative_title,
          type: 'line',
          data: {
            labels: p.days,
            datasets: [
              {
                label: t.wechat_count,
                data: p.cumulate_user,
                borderColor: '#2563eb',
                backgroundColor: '#2563eb',
                spanGaps: true,
                yAxisID: 'y',
              },
              {
                label: t.stored_count,
                data: p.stored_followers,
                borderColor: '#f59e0b',
                backgroundColor: '#f59e0b',
                borderDash: [6, 4],
                spanGaps: true,
                yAxisID: 'y',
              },
              { type: 'bar', label: t.gap, data: p.gap, backgroundColor: '#dc262640', yAxisID: 'gap' },
            ],
          },
          scales: {
            y: { ticks: numberTicks, title: { display: true, text: t.axis_people } },
            gap: {
              position: 'right',
              grid: { drawOnChartArea: false },
              ticks: numberTicks,
              title: { display: true, text: t.gap },
            },
          },
        }),
        dataTable(
          [
            { key: 'day', label: t.day },
            { key: 'cumulate_user', label: t.wechat_count, num: true },
            { key: 'stored_followers', label: t.stored_count, num: true },
            { key: 'gap', label: t.gap, num: true, render: (r) => signed(r.gap) },
          ],
          p.rows,
          { id: 'cumulative-table', rowAttrs: (r) => ({ 'data-day': r.day }) },
        ),
      ];
    },

    hourly(p) {
      if (p.empty) return [emptyBox(fill(t.hourly_empty, { day: p.day }))];
      const hourLabel = (iso) => iso.slice(11, 16);
      return [
        el(
          'p',
          { class: 'note', id: 'hourly-note' },
          fill(t.hourly_note, {
            day: p.day,
            n: p.refresh_s,
            time: `${time(p.generated_at)} ${config.tzShort}`,
          }),
        ),
        el(
          'p',
          { id: 'hourly-totals' },
          fill(t.hourly_totals, {
            s: num(p.totals.subscribes),
            u: num(p.totals.unsubscribes),
            n: signed(p.totals.net),
          }),
        ),
        chart('hourly-chart', {
          title: t.hourly_title,
          type: 'bar',
          data: {
            labels: p.hours.map(hourLabel),
            datasets: [
              { label: t.subscribes, data: p.subscribes, backgroundColor: '#16a34a', stack: 'flow' },
              {
                label: t.unsubscribes,
                data: p.unsubscribes.map((v) => (v === null ? null : -v)),
                backgroundColor: '#dc2626',
                stack: 'flow',
              },
            ],
          },
          absolute: true,
          scales: { x: { stacked: true }, y: { stacked: true, ticks: { ...numberTicks, precision: 0 } } },
        }),
        dataTable(
          [
            {
              key: 'hour',
              label: fill(t.with_tz, { label: t.hour, tz: config.tzShort }),
              render: (r) => hourLabel(r.hour),
            },
            { key: 'subscribes', label: t.subscribes, num: true },
            { key: 'qr_subscribes', label: t.qr_subscribes, num: true },
            { key: 'unsubscribes', label: t.unsubscribes, num: true },
            { key: 'net', label: t.net, num: true, render: (r) => signed(r.net) },
          ],
          p.rows.filter((r) => r.subscribes || r.unsubscribes),
          { id: 'hourly-table', rowAttrs: (r) => ({ 'data-hour': hourLabel(r.hour) }) },
        ),
      ];
    },

    channels(p) {
      if (p.empty) return [emptyBox(t.channels_empty)];
      return [
        el('p', { class: 'note', text: t.channels_note }),
        table(
          [
            { key: 'scene', label: t.scene },
            { key: 'followers_gained', label: t.followers_gained, num: true },
            { key: 'still_following', label: t.still_following, num: true },
            { key: 'retention_now', label: t.retention_now, num: true, render: (r) => pct(r.retention_now) },
            { key: 'left_within_7_days', label: t.left_within_7_days, num: true },
            { key: 'retention_7d', label: t.retention_7d, num: true, render: (r) => pct(r.retention_7d) },
            { key: 'left_within_30_days', label: t.left_within_30_days, num: true },
            { key: 'scan_events', label: t.scan_events, num: true },
            {
              key: 'last_joined_at',
              label: fill(t.last_joined_at, { tz: config.tzShort }),
              render: (r) => time(r.last_joined_at),
            },
          ],
          p.rows,
          {
            id: 'channels-table',
            sortable: true,
            sortKey: 'followers_gained',
            rowAttrs: (r) => ({ 'data-scene': r.scene }),
          },
        ),
      ];
    },

    cohorts(p) {
      if (p.empty) return [emptyBox(t.cohorts_empty)];
      const heat = (value, covered) => {
        if (value === null || value === undefined) return el('span', { class: 'muted', text: t.none });
        return el('span', {
          title: covered === undefined ? undefined : fill(t.covered, { n: num(covered) }),
          text: pct(value),
        });
      };
      const colourOf = (value) => {
        if (value === null || value === undefined) return undefined;
        const light = Math.round(96 - value * 52);
        return `background: hsl(217 85% ${light}%); color: ${light < 60 ? '#fff' : '#0f172a'}`;
      };
      const cell = (key, coveredKey) => ({
        key,
        label: t[`mark_${key === 'retention' ? 'now' : key.replace('retention_', '').replace('d', '')}`],
        num: true,
        cls: 'cell',
        render: (r) => heat(r[key], coveredKey ? r[coveredKey] : undefined),
      });
      const columns = [
        { key: 'cohort_month', label: t.cohort_month },
        { key: 'joined', label: t.joined, num: true },
        cell('retention_30d', 'covered_30d'),
        cell('retention_90d', 'covered_90d'),
        cell('retention_180d', 'covered_180d'),
        cell('retention'),
      ];
      const wrapper = table(columns, p.rows, {
        id: 'cohorts-table',
        rowAttrs: (r) => ({ 'data-month': r.cohort_month }),
      });
      // Heat: each share cell's background follows its value.
      for (const tr of wrapper.querySelectorAll('tbody tr')) {
        const row = p.rows.find((r) => r.cohort_month === tr.dataset.month);
        for (const td of tr.querySelectorAll('td.cell')) {
          const style = colourOf(row[td.dataset.col]);
          if (style) td.setAttribute('style', style);
        }
      }
      wrapper.querySelector('table').classList.add('heat');
      return [el('p', { class: 'note', text: t.cohorts_note }), wrapper];
    },

    tags(p) {
      if (p.empty) return [emptyBox(t.tags_empty)];
      const max = Math.max(1, ...p.rows.map((r) => r.followers));
      return [
        table(
          [
            { key: 'tag_name', label: t.tag },
            {
              key: 'followers',
              label: t.tag_followers,
              num: true,
              cls: 'bar-cell',
              render: (r) => [
                el('span', { class: 'fill', style: `width: ${((100 * r.followers) / max).toFixed(1)}%` }),
                el('span', { class: 'val', text: num(r.followers) }),
              ],
            },
            { key: 'wechat_count', label: t.tag_wechat_count, num: true },
          ],
          p.rows,
          { id: 'tags-table', rowAttrs: (r) => ({ 'data-tag': r.tag_id }) },
        ),
      ];
    },

    pipes(p) {
      const parts = [];
      parts.push(el('h3', { class: 'sub', text: t.runs_title }));
      if (p.empty) parts.push(emptyBox(t.pipes_empty));
      else {
        parts.push(
          table(
            [
              { key: 'job', label: t.job, render: (r) => label(`job.${r.job}`, r.job) },
              { key: 'run_id', label: t.run, num: true, render: (r) => `#${r.run_id}` },
              {
                key: 'status',
                label: t.status,
                render: (r) => [
                  el('span', {
                    class: `status status-${r.status}`,
                    text: label(`status.${r.status}`, r.status),
                  }),
                  r.next_attempt_at
                    ? el('div', {
                        class: 'muted next-attempt',
                        text: fill(t.next_attempt, { at: time(r.next_attempt_at) }),
                      })
                    : null,
                ],
              },
              { key: 'trigger', label: t.trigger, render: (r) => label(`trigger.${r.trigger}`, r.trigger) },
              {
                key: 'started_at',
                label: fill(t.started_at, { tz: config.tzShort }),
                render: (r) => time(r.started_at),
              },
              { key: 'duration_s', label: t.duration, num: true, render: (r) => duration(r.duration_s) },
              { key: 'rows', label: t.rows, num: true },
              {
                key: 'error',
                label: t.error,
                cls: 'wrap',
                render: (r) =>
                  r.error
                    ? el(
                        'div',
                        {},
                        (config.lang === 'en' ? r.explanation_en : r.explanation_zh)
                          ? el('b', {
                              class: 'explain',
                              text: config.lang === 'en' ? r.explanation_en : r.explanation_zh,
                            })
                          : null,
                        el('div', { class: 'muted', text: r.error }),
                      )
                    : null,
              },
            ],
            p.rows,
            { id: 'runs', stack: true, rowAttrs: (r) => ({ 'data-job': r.job, 'data-run': r.run_id }) },
          ),
        );
      }
      parts.push(el('h3', { class: 'sub', text: t.queues_title }));
      if (p.queues_error)
        parts.push(el('p', { class: 'error', text: fill(t.queues_unavailable, { reason: p.queues_error }) }));
      else
        parts.push(
          table(
            ['queue', 'waiting', 'active', 'delayed', 'failed'].map((key) => ({
              key,
              label: t[key],
              num: key !== 'queue',
            })),
            p.queues,
            { id: 'queues', rowAttrs: (r) => ({ 'data-queue': r.queue }) },
          ),
        );
      parts.push(el('h3', { class: 'sub', text: t.quota_title }));
      if (!p.quota.available)
        parts.push(
          el(
            'p',
            { class: 'empty', id: 'quota-unavailable', 'data-empty': true },
            rich(
              fill(t.quota_unavailable, {
                reason: p.quota.reason ? fill(t.quota_reason, { reason: p.quota.reason }) : '',
              }),
            ),
          ),
        );
      else
        parts.push(
          table(
            [
              { key: 'path', label: t.path },
              { key: 'daily_limit', label: t.daily_limit, num: true },
              { key: 'used', label: t.used, num: true },
              {
                key: 'remain',
                label: t.remain,
                num: true,
                render: (r) =>
                  r.remain === null
                    ? t.none
                    : el('span', {
                        class: r.daily_limit && r.remain / r.daily_limit < 0.1 ? 'neg' : undefined,
                        text: num(r.remain),
                      }),
              },
              // A path WeChat will not report (not authorised, unknown to quota/get) says why.
              {
                key: 'error',
                label: t.quota_note,
                cls: 'wrap',
                render: (r) => (r.error ? el('span', { class: 'muted', text: r.error }) : null),
              },
            ],
            p.quota.rows,
            { id: 'quota', stack: true, rowAttrs: (r) => ({ 'data-path': r.path }) },
          ),
          asOf(p.quota.at),
        );
      return parts;
    },
  };

  // --- loading ---
  const rangeParams = new URLSearchParams(config.query);
  async function fetchPanel(panel) {
    const params = panel.ranged ? `?${rangeParams.toString()}` : '';
    const res = await fetch(`${config.base}/api/${panel.name}${params}`, {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
    return body;
  }

  async function load(panel) {
    const section = document.getElementById(`panel-${panel.name}`);
    if (!section || !renderers[panel.name]) return;
    const body = section.querySelector('.panel-body');
    try {
      const data = await fetchPanel(panel);
      body.replaceChildren(...renderers[panel.name](data));
      section.dataset.state = data.empty ? 'empty' : 'ready';
      if (panel.ranged && data.range) {
        document.getElementById('range-shown').textContent = fill(t.range_shown, data.range);
        // The inputs show the range in force, whichever way it was chosen (preset or default).
        const form = document.getElementById('range');
        if (!form.elements.from.value) form.elements.from.value = data.range.from;
        if (!form.elements.to.value) form.elements.to.value = data.range.to;
      }
    } catch (error) {
      body.replaceChildren(
        el('p', { class: 'error', text: fill(t.load_failed, { message: error.message }) }),
      );
      section.dataset.state = 'error';
    }
    section.setAttribute('aria-busy', 'false');
  }

  const panels = config.panels.filter((p) => document.getElementById(`panel-${p.name}`));
  Promise.all(panels.map(load)).then(() => {
    document.body.dataset.loaded = 'true';
  });
  // Today by hour refreshes itself (the interval comes with the panel: refresh_s).
  const hourly = panels.find((p) => p.name === 'hourly');
  if (hourly) setInterval(() => load(hourly), 30_000);
})();
