/**
 * The /wx push as wxsync reads it: the message schema, its dedupe key (its identity across WeChat's
 * retries) and the names follower_events stores it under. Shared by the request path (src/server)
 * and the events jobs (jobs/events).
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import { Openid } from '../wechat/schemas.ts';

/**
 * Latest CreateTime accepted: 9999-12-31T23:59:59Z. PostgreSQL's timestamptz reaches further, but
 * a JavaScript Date past year 9999 serialises as "+010000-..." text that PostgreSQL refuses.
 */
export const CREATE_TIME_MAX_S = 253_402_300_799;

/**
 * Longest EventKey (UTF-16 units): a QR scene string is at most 64 characters and a menu key 128
 * bytes; 512 units are at most 2,048 UTF-8 bytes, which keeps follower_events' unique index entry
 * (openid, event, create_time, msg_id, event_key) under btree's ~2,700-byte row limit.
 */
export const EVENT_KEY_MAX = 512;
/** Longest value of any other field (Content, Ticket, PicUrl...): the body limit bounds the sum. */
export const FIELD_MAX = 16_384;
/** Most fields one push may carry (WeChat's largest, a menu photo report, has about 15). */
export const FIELDS_MAX = 64;

/**
 * Text PostgreSQL stores as pushed: no C0 control character but tab, LF and CR (XML 1.0 forbids
 * them, so WeChat never sends one; NUL is refused by text and jsonb alike) and no lone surrogate.
 */
function storable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) {
      if (c !== 0x9 && c !== 0xa && c !== 0xd) return false;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}
const text = (max: number) =>
  z.string().max(max, `at most ${max} characters`).refine(storable, 'control characters are not accepted');
/** MsgType and Event values are ASCII words (subscribe, SCAN, scancode_push, MASSSENDJOBFINISH...). */
const word = (max: number) => z.string().regex(new RegExp(`^[A-Za-z0-9_]{1,${max}}$`), 'must be a word');
const digits = z.string().regex(/^\d{1,12}$/, 'must be digits');
const msgId = z.string().regex(/^\d{1,24}$/, 'must be digits');

/**
 * A WeChat push as parsed from its XML: every value a string (ids stay exact). The named fields
 * are the ones wxsync relies on; any other field is kept as pushed. Everything PostgreSQL (or an
 * index) would refuse is refused here, at the edge, so /wx answers 400 instead of queueing a push
 * that fails in the worker: FromUserName is an openid by the same rule as the admin API.
 */
export const WxMessage = z
  .object({
    ToUserName: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'not an account id')
      .optional(),
    FromUserName: Openid,
    CreateTime: digits.refine((s) => {
      const t = Number(s);
      return t >= 1 && t <= CREATE_TIME_MAX_S;
    }, 'must be unix seconds between 1970 and 9999'),
    MsgType: word(32),
    Event: word(64).optional(),
    EventKey: text(EVENT_KEY_MAX).optional(),
    Ticket: text(512).optional(),
    MsgId: msgId.optional(),
    /** Mass-send and template-send reports (MASSSENDJOBFINISH, TEMPLATESENDJOBFINISH) spell it MsgID. */
    MsgID: msgId.optional(),
  })
  .catchall(text(FIELD_MAX))
  .refine((m) => Object.keys(m).length <= FIELDS_MAX, `at most ${FIELDS_MAX} fields`);
export type WxMessage = z.infer<typeof WxMessage>;

/**
 * MsgTypes WeChat pushes to an Official Account (messages and `event`): the metric label set. The
 * schema accepts any word (WeChat adds types), metrics count the rest as `other`.
 */
export const KNOWN_MSG_TYPES: ReadonlySet<string> = new Set([
  'text',
  'image',
  'voice',
  'video',
  'shortvideo',
  'location',
  'link',
  'file',
  'miniprogrampage',
  'event',
]);

/** `follower_events.event`: the Event for MsgType=event, otherwise the MsgType (text, image...). */
export function eventName(message: WxMessage): string {
  return message.MsgType === 'event' ? (message.Event ?? 'event') : message.MsgType;
}

/** The message id, however the push spells it (MsgId, or MsgID in send reports). */
export const messageId = (message: WxMessage): string | undefined => message.MsgId ?? message.MsgID;

/**
 * The identity of a push across WeChat's retries (each retry carries a new timestamp and nonce,
 * the same body). Messages: sender + MsgId (MsgId alone has collided in practice). Events:
 * sender + CreateTime + Event + EventKey. Hashed so it is a safe Redis key and BullMQ job id.
 */
export function dedupeKey(message: WxMessage): string {
  const msgId = messageId(message);
  const parts =
    msgId !== undefined
      ? ['msg', message.FromUserName, msgId]
      : ['event', message.FromUserName, message.CreateTime, message.Event ?? '', message.EventKey ?? ''];
  // One-shot crypto.hash: a fifth of createHash's cost, and this runs for every push on /wx.
  return hash('sha1', parts.join('\u0000'));
}
