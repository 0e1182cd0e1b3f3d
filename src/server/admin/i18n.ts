/**
 * The admin pages' two languages: Chinese (zh-CN, the default: the people who run a 公众号 read
 * Chinese) and English. The choice comes from `?lang=` (which is then remembered in a cookie), else
 * that cookie, else Chinese. Every label of the page and of its script comes from here: the page
 * embeds the chosen language's messages and dashboard.js reads them, so no label is written twice.
 * `{name}` placeholders are filled by `fill` (server) and the script's own twin.
 */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';

export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export const DEFAULT_LANG: Lang = 'zh-CN';
export const LANG_COOKIE = 'wxsync_lang';

/** `zh`, `zh-CN`, `zh_CN`, `en`, `en-US`... to one of LANGS; undefined for anything else. */
export function parseLang(value: string | undefined): Lang | undefined {
  if (!value) return undefined;
  const v = value.trim().toLowerCase().replace('_', '-');
  if (v === 'zh' || v.startsWith('zh-')) return 'zh-CN';
  if (v === 'en' || v.startsWith('en-')) return 'en';
  return undefined;
}

/** The language of this request and whether `?lang=` chose it (the caller then remembers it). */
export function requestLang(c: Context): { lang: Lang; fromQuery: boolean } {
  const fromQuery = parseLang(c.req.query('lang'));
  if (fromQuery) return { lang: fromQuery, fromQuery: true };
  return { lang: parseLang(getCookie(c, LANG_COOKIE)) ?? DEFAULT_LANG, fromQuery: false };
}

export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (all, key: string) => (key in values ? String(values[key]) : all));
}

const zh = {
  title: 'wxsync 运营看板',
  queues_link: '任务队列',
  logout: '退出登录',
  switch_lang: 'English',
  tz_beijing: '时间均为北京时间（{zone}，{offset}）',
  tz_other: '时间均为 {zone} 时间（{offset}）',
  tz_short_beijing: '北京时间',
  tz_short_other: '{zone}',
  range_label: '时间范围',
  preset: '近 {n} 天',
  range_from: '开始',
  range_to: '结束',
  range_apply: '查看',
  range_note: '统计日按北京时间自然日',
  with_tz: '{label}（{tz}）',
  range_shown: '{from} 至 {to}（{days} 天）',
  csv: '下载 CSV',
  loading: '加载中…',
  load_failed: '加载失败：{message}',
  as_of: '数据更新于 {time}',
  as_of_none: '尚无数据',
  data_table: '数据表',
  none: '—',

  headline_title: '核心指标',
  followers_now: '当前关注人数',
  followers_left: '已取消关注 {n} 人（历史累计）',
  today: '今日（{day}，实时）',
  today_source: '来自 /wx 推送的关注事件',
  yesterday: '昨日（{day}）',
  yesterday_source: '来自微信用户分析（T+1）',
  yesterday_pending:
    '微信尚未提供昨日数据：用户分析为 T+1，约北京时间 08:00 后可同步（`wxsync sync datacube`）',
  yesterday_cumulate: '日末总人数 {n}',
  last7: '近 7 天净增',
  last7_range: '{from} 至 {to}，微信报告 {days} 天',
  new: '新增',
  left: '取消',
  cancelled: '取消关注',
  net: '净增',
  headline_empty:
    '还没有任何数据。运行 `wxsync sync all` 同步关注者与统计数据；`wxsync serve` 与 `wxsync worker` 运行后，新的关注事件会实时计入今日数字。',

  growth_title: '每日增长（按来源）',
  growth_note: '柱形：新增关注在横轴上方、取消关注在下方，按来源堆叠；折线：净增',
  axis_people: '人数',
  day: '日期',
  source: '来源',
  growth_empty:
    '所选时间段还没有微信用户分析数据。运行 `wxsync sync datacube --from {from} --to {to}`（或 `wxsync sync all`）获取每日新增与取消关注。',

  cumulative_title: '累计关注人数：微信统计与已存数据',
  wechat_count: '微信统计（user_cumulate）',
  stored_count: '已存关注者',
  gap: '差额',
  cumulative_latest: '{day}：微信统计 {wechat}，已存 {stored}，差额 {gap}（{share}）',
  cumulative_empty:
    '所选时间段还没有累计人数。运行 `wxsync sync datacube` 获取微信统计，运行 `wxsync sync followers` 同步关注者。',

  hourly_title: '今日分时（实时）',
  hourly_note: '{day} 每小时的关注与取消关注推送，每 {n} 秒自动刷新 · 最后刷新 {time}',
  hour: '时段',
  subscribes: '关注',
  unsubscribes: '取消关注',
  qr_subscribes: '其中扫码',
  hourly_totals: '今日合计：关注 {s}，取消关注 {u}，净增 {n}',
  hourly_empty:
    '今天（{day}）还没有收到关注或取消关注推送。推送来自微信发往 `/wx` 的消息：在公众平台“设置与开发 > 基本配置”中把服务器地址设为 `https://<你的域名>/wx`，并运行 `wxsync serve` 与 `wxsync worker`。',

  channels_title: '渠道：带参数二维码',
  channels_note: '点击列名排序。7 天留存 = 1 − 7 天内取关 ÷ 带来关注（关注不足 7 天的尚未满期，计为留存）',
  scene: '场景值',
  followers_gained: '带来关注',
  still_following: '仍在关注',
  retention_now: '当前留存',
  left_within_7_days: '7 天内取关',
  retention_7d: '7 天留存',
  left_within_30_days: '30 天内取关',
  scan_events: '老用户扫码',
  last_joined_at: '最近关注（{tz}）',
  channels_empty:
    '还没有通过带参数二维码关注的用户。运行 `wxsync sync followers` 同步关注者的 qr_scene / qr_scene_str；扫码关注的推送（EventKey 为 qrscene_…）也会实时计入。',

  cohorts_title: '按月留存（关注月份 × 关注后时长）',
  cohorts_note:
    '格中为关注 30 / 90 / 180 天后仍在关注的比例，“至今”为现在仍在关注的比例；“—”表示尚未到期，或关注历史（自首次同步起记录）未覆盖。',
  cohort_month: '关注月份',
  joined: '关注人数',
  mark_30: '1 个月',
  mark_90: '3 个月',
  mark_180: '6 个月',
  mark_now: '至今',
  covered: '{n} 人已满期',
  cohorts_empty:
    '还没有关注历史。运行 `wxsync sync followers`：首次同步为每位关注者建立历史记录，之后的同步与推送会持续更新它。',

  tags_title: '标签人数',
  tag: '标签',
  tag_followers: '关注者',
  tag_wechat_count: '微信统计',
  tags_empty:
    '还没有标签数据。运行 `wxsync sync tags`（关注者同步也会同步标签）；在公众平台“用户管理”中给用户打上标签后，这里显示每个标签的关注者人数。',
  subscribe_events: '推送记录关注',
  unsubscribe_events: '推送记录取关',

  pipes_title: '数据管道',
  runs_title: '各任务最近运行',
  job: '任务',
  run: '编号',
  status: '状态',
  trigger: '触发',
  started_at: '开始时间（{tz}）',
  duration: '用时',
  next_attempt: '下次尝试：{at}',
  rows: '行数',
  error: '错误',
  queues_title: '队列积压',
  queue: '队列',
  waiting: '等待',
  active: '执行中',
  delayed: '延迟',
  failed: '失败',
  queues_unavailable: '无法读取队列：{reason}',
  quota_title: '接口剩余配额（今日）',
  path: '接口',
  daily_limit: '每日上限',
  used: '已用',
  remain: '剩余',
  quota_note: '说明',
  quota_reason: '（{reason}）',
  quota_unavailable: '配额数据暂不可用{reason}：运行 `wxsync quota` 查看，或在公众平台“接口权限”中查询。',
  pipes_empty:
    '还没有运行过同步。运行 `wxsync sync all`；`wxsync worker` 运行时会按计划（CRON_*）每天自动同步。',
  seconds: '{n} 秒',
  minutes: '{m} 分 {s} 秒',
  'status.running': '运行中',
  'status.succeeded': '成功',
  'status.failed': '失败',
  'status.retrying': '重试中',
  'status.paused': '已暂停（配额）',
  'status.skipped': '未启动（配额不足）',
  'job.followers': '关注者',
  'job.blacklist': '黑名单',
  'job.datacube': '用户分析',
  'job.publisher': '流量主',
  'job.tags': '标签',
  'trigger.schedule': '定时',
  'trigger.cli': '命令行',
  'trigger.admin': '管理后台',
  'trigger.demo': '演示',
  'trigger.retry': '重试',

  login_title: 'wxsync 管理后台',
  login_token: '管理令牌',
  login_submit: '登录',
  login_hint: '令牌即服务端的 ADMIN_TOKEN。API 调用方请发送 “Authorization: Bearer …”。',
  login_refused: '令牌不正确。',
};

export type MessageKey = keyof typeof zh;
export type Messages = Record<MessageKey, string>;

const en: Messages = {
  title: 'wxsync operations dashboard',
  queues_link: 'queues',
  logout: 'log out',
  switch_lang: '中文',
  tz_beijing: 'All times are Beijing time ({zone}, {offset})',
  tz_other: 'All times are {zone} time ({offset})',
  tz_short_beijing: 'Beijing time',
  tz_short_other: '{zone}',
  range_label: 'Range',
  preset: 'last {n} days',
  range_from: 'from',
  range_to: 'to',
  range_apply: 'show',
  range_note: 'statistics days are Beijing calendar days',
  with_tz: '{label} ({tz})',
  range_shown: '{from} to {to} ({days} days)',
  csv: 'CSV',
  loading: 'loading…',
  load_failed: 'could not load: {message}',
  as_of: 'data as of {time}',
  as_of_none: 'no data yet',
  data_table: 'data table',
  none: '—',

  headline_title: 'Headline numbers',
  followers_now: 'Followers now',
  followers_left: '{n} have unfollowed (all time, stored)',
  today: 'Today ({day}, live)',
  today_source: 'from follow events pushed to /wx',
  yesterday: 'Yesterday ({day})',
  yesterday_source: "from WeChat's user analysis (T+1)",
  yesterday_pending:
    'WeChat has not reported yesterday yet: user analysis is T+1, ready after about 08:00 Beijing time (`wxsync sync datacube`)',
  yesterday_cumulate: 'total at day end {n}',
  last7: 'Net growth, last 7 days',
  last7_range: '{from} to {to}, {days} days reported by WeChat',
  new: 'new',
  left: 'left',
  cancelled: 'unfollowed',
  net: 'net',
  headline_empty:
    'Nothing stored yet. Run `wxsync sync all` to mirror followers and statistics; with `wxsync serve` and `wxsync worker` running, new follow events count into today live.',

  growth_title: 'Daily growth by source',
  growth_note: 'Bars: new followers above the axis, unfollows below, stacked by source; line: net growth',
  axis_people: 'followers',
  day: 'day',
  source: 'source',
  growth_empty:
    'No WeChat user analysis for this range yet. Run `wxsync sync datacube --from {from} --to {to}` (or `wxsync sync all`) to fetch daily new and cancelled followers.',

  cumulative_title: 'Cumulative followers: WeChat vs stored',
  wechat_count: "WeChat's count (user_cumulate)",
  stored_count: 'followers stored',
  gap: 'gap',
  cumulative_latest: '{day}: WeChat {wechat}, stored {stored}, gap {gap} ({share})',
  cumulative_empty:
    "No cumulative counts for this range yet. Run `wxsync sync datacube` for WeChat's count and `wxsync sync followers` to mirror the followers.",

  hourly_title: 'Today by hour (live)',
  hourly_note: 'follow and unfollow pushes per hour on {day}, refreshed every {n} s · last refreshed {time}',
  hour: 'hour',
  subscribes: 'follows',
  unsubscribes: 'unfollows',
  qr_subscribes: 'by QR code',
  hourly_totals: 'today so far: {s} follows, {u} unfollows, net {n}',
  hourly_empty:
    "No follow or unfollow pushes yet today ({day}). They come from WeChat's messages to `/wx`: set the server URL to `https://<your domain>/wx` in WeChat's console (设置与开发 > 基本配置) and run `wxsync serve` and `wxsync worker`.",

  channels_title: 'Channels: parametric QR codes',
  channels_note:
    'Click a column to sort. 7-day retention = 1 − left within 7 days ÷ gained (followers younger than 7 days count as retained)',
  scene: 'scene',
  followers_gained: 'gained',
  still_following: 'still following',
  retention_now: 'retained now',
  left_within_7_days: 'left in 7 days',
  retention_7d: '7-day retention',
  left_within_30_days: 'left in 30 days',
  scan_events: 'scans by followers',
  last_joined_at: 'latest follow ({tz})',
  channels_empty:
    'No follower came through a parametric QR code yet. Run `wxsync sync followers` to mirror qr_scene / qr_scene_str; QR subscribe pushes (EventKey qrscene_...) count in live.',

  cohorts_title: 'Monthly retention (month joined × time since)',
  cohorts_note:
    'Each cell is the share still following 30 / 90 / 180 days after joining, "now" the share following today; "—" is not due yet, or not covered by the follow history (recorded from the first sync on).',
  cohort_month: 'month joined',
  joined: 'joined',
  mark_30: '1 month',
  mark_90: '3 months',
  mark_180: '6 months',
  mark_now: 'now',
  covered: '{n} due',
  cohorts_empty:
    'No follow history yet. Run `wxsync sync followers`: the first sync opens a history for every follower, later syncs and pushes extend it.',

  tags_title: 'Followers per tag',
  tag: 'tag',
  tag_followers: 'followers',
  tag_wechat_count: "WeChat's count",
  tags_empty:
    "No tags yet. Run `wxsync sync tags` (the follower sync syncs tags too); once users carry tags (WeChat console: 用户管理), each tag's followers show here.",
  subscribe_events: 'follow pushes',
  unsubscribe_events: 'unfollow pushes',

  pipes_title: 'Pipes',
  runs_title: 'Last runs of every job',
  job: 'job',
  run: 'run',
  status: 'state',
  trigger: 'trigger',
  started_at: 'started ({tz})',
  duration: 'duration',
  next_attempt: 'next attempt {at}',
  rows: 'rows',
  error: 'error',
  queues_title: 'Queue depths',
  queue: 'queue',
  waiting: 'waiting',
  active: 'active',
  delayed: 'delayed',
  failed: 'failed',
  queues_unavailable: 'queues could not be read: {reason}',
  quota_title: 'API quota left today',
  path: 'API path',
  daily_limit: 'daily limit',
  used: 'used',
  remain: 'left',
  quota_note: 'note',
  quota_reason: ' ({reason})',
  quota_unavailable:
    "Quota figures are not available{reason}: run `wxsync quota`, or look them up under 接口权限 in WeChat's console.",
  pipes_empty:
    'No sync has run yet. Run `wxsync sync all`; a running `wxsync worker` syncs every day on its schedule (CRON_*).',
  seconds: '{n} s',
  minutes: '{m} min {s} s',
  'status.running': 'running',
  'status.succeeded': 'succeeded',
  'status.failed': 'failed',
  'status.retrying': 'retrying',
  'status.paused': 'paused (quota)',
  'status.skipped': 'skipped (quota too low)',
  'job.followers': 'followers',
  'job.blacklist': 'blacklist',
  'job.datacube': 'user analysis',
  'job.publisher': 'publisher',
  'job.tags': 'tags',
  'trigger.schedule': 'schedule',
  'trigger.cli': 'CLI',
  'trigger.admin': 'admin',
  'trigger.demo': 'demo',
  'trigger.retry': 'retry',

  login_title: 'wxsync admin',
  login_token: 'Admin token',
  login_submit: 'log in',
  login_hint: 'The token is the server\'s ADMIN_TOKEN. API clients send it as "Authorization: Bearer ...".',
  login_refused: 'That is not the admin token.',
};

export const MESSAGES: Record<Lang, Messages> = { 'zh-CN': zh, en };
