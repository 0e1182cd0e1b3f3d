/**
 * The seeded warehouse the dashboard tests read: five statistics days ending yesterday (Beijing),
 * 1,234 followers stored now plus 5 who left, follow events a few seconds ago, and runs of every
 * job in every state, with errors WeChat really returns. Every expected figure is derived here
 * from the seed, so the tests assert numbers, not "more than zero".
 */
import { addDays, beijingYesterday } from '../../src/calendar.ts';
import type { Db } from '../../src/db/client.ts';

export const TZ = 'Asia/Shanghai';

/** Wall clock in Beijing, "YYYY-MM-DD HH:mm:ss". */
export function beijing(at: Date): string {
  return new Date(at.getTime() + 8 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
}

export interface Seed {
  now: Date;
  days: string[];
  /** [user_source, zh label, en label, new per day, cancel per day] */
  sources: [number, string, string, number[], number[]][];
  cumulate: number[];
  /** Plain followers: followed `plainJoinedDaysAgo` days ago; `plainLeft` of them left at `now`. */
  plainFollowing: number;
  plainLeft: number;
  plainJoinedDaysAgo: number;
  /** Followers through parametric QR codes, each with when it joined and when (if) it left. */
  qr: { openid: string; scene: string; numeric: boolean; joined: Date; left: Date | null }[];
  /** Tags defined at WeChat, and which plain followers carry which. */
  tags: { id: number; name: string; count: number }[];
  tagged: number[][];
  /** Follow events seeded (create_time), by kind. */
  subscribes: Date[];
  unsubscribes: Date[];
  runs: {
    job: string;
    status: string;
    trigger: string;
    startedAt: Date;
    finishedAt?: Date;
    error?: string;
    counts?: Record<string, number>;
  }[];
}

export function makeSeed(now = new Date()): Seed {
  const yesterday = beijingYesterday(now);
  const days = [-4, -3, -2, -1, 0].map((n) => addDays(yesterday, n));
  const at = (secondsAgo: number) => new Date(Math.floor(now.getTime() / 1000) * 1000 - secondsAgo * 1000);
  const daysAgo = (d: number) => at(d * 86_400);
  const spring = (i: number, left: Date | null) => ({
    openid: `oSeededSpring${i}`,
    scene: 'campaign_spring',
    numeric: false,
    joined: daysAgo(20),
    left,
  });
  return {
    now,
    days,
    sources: [
      [0, '其他合计', 'other', [5, 6, 7, 8, 9], [1, 1, 1, 1, 1]],
      [1, '公众号搜索', 'account search', [10, 12, 9, 14, 11], [2, 3, 1, 2, 4]],
      [30, '扫描二维码', 'QR code scan', [1200, 25, 30, 18, 22], [5, 4, 6, 3, 2]],
    ],
    cumulate: [11_000, 11_050, 11_110, 11_160, 11_210],
    plainFollowing: 1_230,
    plainLeft: 5,
    plainJoinedDaysAgo: 200,
    qr: [
      spring(0, null),
      spring(1, null),
      spring(2, daysAgo(18)),
      spring(3, daysAgo(10)),
      { openid: 'oSeededScene1', scene: '1001', numeric: true, joined: daysAgo(45), left: null },
      { openid: 'oSeededScene2', scene: '1001', numeric: true, joined: daysAgo(45), left: null },
    ],
    tags: [
      { id: 2, name: '星标组', count: 5 },
      { id: 100, name: '=cmd|calc', count: 0 },
      { id: 101, name: 'VIP 客户', count: 2 },
    ],
    tagged: [[2], [2], [2], [2, 101], [2, 101]],
    subscribes: [at(3), at(4), at(5), at(6), at(7), at(8), at(9)],
    unsubscribes: [at(4), at(6)],
    runs: [
      {
        job: 'followers',
        status: 'succeeded',
        trigger: 'schedule',
        startedAt: new Date('2026-03-06T18:00:00Z'),
        finishedAt: new Date('2026-03-06T18:02:05Z'),
        counts: { inserted: 1200, changed: 30, unchanged: 4, markedUnsubscribed: 5 },
      },
      {
        job: 'followers',
        status: 'failed',
        trigger: 'schedule',
        startedAt: new Date('2026-03-07T18:00:00Z'),
        finishedAt: new Date('2026-03-07T18:00:01Z'),
        error:
          "WeChat /cgi-bin/user/get failed: errcode 40164 (invalid ip 203.0.113.9 ipv6 ::ffff:203.0.113.9, not in whitelist rid: 65e1a2b3-1c2d3e4f-5a6b7c8d): caller IP not in the account's IP whitelist",
      },
      {
        job: 'datacube',
        status: 'failed',
        trigger: 'admin',
        startedAt: new Date('2026-03-06T01:00:00Z'),
        finishedAt: new Date('2026-03-06T01:00:03Z'),
        error: 'WeChat /datacube/getusersummary failed: errcode 61501 (date range error)',
      },
      {
        job: 'publisher',
        status: 'failed',
        trigger: 'cli',
        startedAt: new Date('2026-03-06T02:00:00Z'),
        finishedAt: new Date('2026-03-06T02:00:01Z'),
        // What a user-controlled value looks like to a spreadsheet: the CSV must not run it.
        error: '=HYPERLINK("http://example.com","click")',
      },
      { job: 'blacklist', status: 'running', trigger: 'admin', startedAt: at(65) },
    ],
  };
}

export async function seedWarehouse(db: Db, seed: Seed): Promise<void> {
  for (const [source, , , news, cancels] of seed.sources) {
    await db.userSummary.createMany({
      data: seed.days.map((day, i) => ({
        refDate: new Date(`${day}T00:00:00Z`),
        userSource: source,
        newUser: news[i]!,
        cancelUser: cancels[i]!,
      })),
    });
  }
  await db.userCumulate.createMany({
    data: seed.days.map((day, i) => ({
      refDate: new Date(`${day}T00:00:00Z`),
      cumulateUser: seed.cumulate[i]!,
    })),
  });
  // Each follower's history starts when it followed (updated_at = subscribe_time: the history
  // trigger opens the period then), so retention marks are covered as they would be after a year of
  // syncing. Leavers leave through an UPDATE, as a sync or a push records it.
  const plainJoined = new Date(seed.now.getTime() - seed.plainJoinedDaysAgo * 86_400_000);
  const plain = seed.plainFollowing + seed.plainLeft;
  await db.follower.createMany({
    data: Array.from({ length: plain }, (_, i) => ({
      openid: i < seed.plainFollowing ? `oSeededFollower${String(i).padStart(6, '0')}` : `oSeededLeaver${i}`,
      subscribe: true,
      subscribeTime: plainJoined,
      updatedAt: plainJoined,
      tagidList: seed.tagged[i] ?? [],
    })),
  });
  await db.follower.updateMany({
    where: { openid: { startsWith: 'oSeededLeaver' } },
    data: { subscribe: false, unsubscribedAt: seed.now, updatedAt: seed.now },
  });
  for (const f of seed.qr) {
    await db.follower.create({
      data: {
        openid: f.openid,
        subscribe: true,
        subscribeTime: f.joined,
        updatedAt: f.joined,
        subscribeScene: 'ADD_SCENE_QR_CODE',
        ...(f.numeric ? { qrScene: BigInt(f.scene), qrSceneStr: '' } : { qrScene: 0n, qrSceneStr: f.scene }),
      },
    });
    if (f.left) {
      await db.follower.update({
        where: { openid: f.openid },
        data: { subscribe: false, unsubscribedAt: f.left, updatedAt: f.left },
      });
    }
  }
  await db.tag.createMany({ data: seed.tags.map((t) => ({ id: t.id, name: t.name, count: t.count })) });
  // The first subscribe came through QR scene 9009 (a follower /wx saw but no sync stored yet).
  const event = (kind: 'subscribe' | 'unsubscribe', at: Date, i: number) => ({
    openid: `oSeededEvent${kind}${i}`,
    event: kind,
    msgType: 'event',
    eventKey: kind === 'subscribe' && i === 0 ? 'qrscene_9009' : '',
    createTime: at,
    receivedAt: at,
    payload: { MsgType: 'event', Event: kind },
  });
  // Inserted in arrival order, as /wx records them (ids follow arrival).
  await db.followerEvent.createMany({
    data: [
      ...seed.subscribes.map((at, i) => event('subscribe', at, i)),
      ...seed.unsubscribes.map((at, i) => event('unsubscribe', at, i)),
    ].sort((a, b) => a.createTime.getTime() - b.createTime.getTime()),
  });
  for (const run of seed.runs) {
    await db.syncRun.create({
      data: {
        job: run.job,
        status: run.status as 'running' | 'succeeded' | 'failed',
        trigger: run.trigger,
        startedAt: run.startedAt,
        finishedAt: run.finishedAt ?? null,
        error: run.error ?? null,
        counts: run.counts ?? {},
      },
    });
  }
}

/** Totals of the seeded statistics per day (all sources). */
export function dailyTotals(seed: Seed) {
  return seed.days.map((day, i) => {
    const news = seed.sources.reduce((n, s) => n + s[3][i]!, 0);
    const cancels = seed.sources.reduce((n, s) => n + s[4][i]!, 0);
    return { day, new: news, cancelled: cancels, net: news - cancels };
  });
}

/** Followers following now, and stored users who left. */
export const followersNow = (seed: Seed) => seed.plainFollowing + seed.qr.filter((f) => !f.left).length;
export const followersLeft = (seed: Seed) => seed.plainLeft + seed.qr.filter((f) => f.left).length;

/** Beijing month (YYYY-MM) of an instant. */
const month = (at: Date) => beijing(at).slice(0, 7);

/**
 * The seed's cohorts as cohort_retention defines them: per Beijing month joined, joined, following
 * now, and at 30/90/180 days after joining the share of joins that are due (history covers them:
 * it starts at the join here) still following then.
 */
export function expectedCohorts(seed: Seed) {
  const joins = [
    ...Array.from({ length: seed.plainFollowing + seed.plainLeft }, (_, i) => ({
      joined: new Date(seed.now.getTime() - seed.plainJoinedDaysAgo * 86_400_000),
      left: i < seed.plainFollowing ? null : seed.now,
    })),
    ...seed.qr.map((f) => ({ joined: f.joined, left: f.left })),
  ];
  const byMonth = new Map<string, typeof joins>();
  for (const j of joins) byMonth.set(month(j.joined), [...(byMonth.get(month(j.joined)) ?? []), j]);
  const share = (part: number, whole: number) =>
    whole ? Math.round((part / whole) * 10_000) / 10_000 : null;
  return [...byMonth.entries()]
    .sort(([a], [b]) => (a < b ? 1 : -1))
    .map(([cohort, js]) => {
      const mark = (days: number) => {
        const due = js.filter((j) => j.joined.getTime() + days * 86_400_000 <= seed.now.getTime());
        const kept = due.filter((j) => !j.left || j.left.getTime() > j.joined.getTime() + days * 86_400_000);
        return share(kept.length, due.length);
      };
      const still = js.filter((j) => !j.left).length;
      return {
        cohort_month: cohort,
        joined: js.length,
        retention_30d: mark(30),
        retention_90d: mark(90),
        retention_180d: mark(180),
        retention: share(still, js.length),
      };
    });
}
