/**
 * "Another system on the same appid": the owner's CMS, a marketing tool or a second SDK that fetches
 * its own access_tokens on a timer. The classic endpoint knocks out every earlier classic token
 * (after a 5-minute overlap), a forced stable refresh knocks out the stable one; a normal stable
 * fetch changes nothing. Its requests go through the platform's own routes (counted, quota-counted,
 * subject to faults), exactly like a real neighbour's.
 */
import { z } from 'zod';

export const OtherSystemKind = z.enum(['classic', 'stable', 'force']);
export type OtherSystemKind = z.infer<typeof OtherSystemKind>;

export const OtherSystemRequest = z.object({
  kind: OtherSystemKind,
  /** Seconds between two fetches; null stops this kind. */
  everyS: z.number().positive().max(86_400).nullable(),
});

interface Actor {
  everyS: number;
  timer: NodeJS.Timeout;
  fetched: number;
  failed: number;
  lastErrcode?: number;
}

type Fetch = (path: string, init: RequestInit) => Response | Promise<Response>;

export class OtherSystem {
  private readonly actors = new Map<OtherSystemKind, Actor>();

  constructor(
    private readonly fetch: Fetch,
    private readonly credentials: () => { appId: string; appSecret: string },
  ) {}

  /** Starts (or re-times) one kind of fetching; `everyS: null` stops it. */
  set(kind: OtherSystemKind, everyS: number | null): void {
    this.stop(kind);
    if (everyS === null) return;
    const actor: Actor = {
      everyS,
      fetched: 0,
      failed: 0,
      timer: setInterval(() => void this.once(kind, actor), everyS * 1000),
    };
    actor.timer.unref();
    this.actors.set(kind, actor);
  }

  stop(kind?: OtherSystemKind): void {
    for (const k of kind === undefined ? [...this.actors.keys()] : [kind]) {
      const actor = this.actors.get(k);
      if (actor) clearInterval(actor.timer);
      this.actors.delete(k);
    }
  }

  /** One fetch of `kind` now (also what each timer tick does). Returns the errcode (0 = a token). */
  async fetchOnce(kind: OtherSystemKind): Promise<number> {
    const { appId, appSecret } = this.credentials();
    const response =
      kind === 'classic'
        ? await this.fetch(
            `/cgi-bin/token?${new URLSearchParams({ grant_type: 'client_credential', appid: appId, secret: appSecret })}`,
            { method: 'GET' },
          )
        : await this.fetch('/cgi-bin/stable_token', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              grant_type: 'client_credential',
              appid: appId,
              secret: appSecret,
              force_refresh: kind === 'force',
            }),
          });
    const body = (await response.json().catch(() => ({}))) as { errcode?: number; access_token?: string };
    return body.access_token ? 0 : (body.errcode ?? -1);
  }

  snapshot(): Partial<
    Record<OtherSystemKind, { everyS: number; fetched: number; failed: number; lastErrcode?: number }>
  > {
    return Object.fromEntries(
      [...this.actors].map(([kind, a]) => [
        kind,
        { everyS: a.everyS, fetched: a.fetched, failed: a.failed, lastErrcode: a.lastErrcode },
      ]),
    );
  }

  private async once(kind: OtherSystemKind, actor: Actor): Promise<void> {
    try {
      const errcode = await this.fetchOnce(kind);
      if (errcode === 0) actor.fetched++;
      else {
        actor.failed++;
        actor.lastErrcode = errcode;
      }
    } catch {
      actor.failed++;
    }
  }
}
