/**
 * The /wx push as wxsync reads it: the message schema, its dedupe key (its identity across WeChat's
 * retries) and the names follower_events stores it under. Shared by the request path (src/server)
 * and the events jobs (jobs/events).
 */
import { hash } from 'node:crypto';
import { z } from 'zod';

const digits = z.string().regex(/^\d{1,12}$/, 'must be digits');

/**
 * A WeChat push as parsed from its XML: every value a string (ids stay exact). The named fields
 * are the ones wxsync relies on; any other field is kept as pushed.
 */
export const WxMessage = z
  .object({
    ToUserName: z.string().optional(),
    FromUserName: z.string().min(1).max(128),
    CreateTime: digits,
    MsgType: z.string().min(1).max(32),
    Event: z.string().max(64).optional(),
    EventKey: z.string().optional(),
    Ticket: z.string().optional(),
    MsgId: z
      .string()
      .regex(/^\d{1,24}$/, 'must be digits')
      .optional(),
    /** Mass-send and template-send reports (MASSSENDJOBFINISH, TEMPLATESENDJOBFINISH) spell it MsgID. */
    MsgID: z
      .string()
      .regex(/^\d{1,24}$/, 'must be digits')
      .optional(),
  })
  .catchall(z.string());
export type WxMessage = z.infer<typeof WxMessage>;

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
