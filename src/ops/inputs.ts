/**
 * Input schemas of the account actions, shared by the admin API and the CLI, and the one place
 * that turns a zod failure into an InputError (400) with a message naming the field and the rule.
 */
import { z } from 'zod';
import {
  DATE_RANGE_MAX_DAYS,
  daysBetween,
  EARLIEST_DAY,
  isCalendarDate,
  isSaneDay,
  LATEST_DAY,
} from '../calendar.ts';
import { formatIssues, InputError } from '../errors.ts';
import { IsoDate, Lang, Openid } from '../wechat/schemas.ts';

/** Largest list one blacklist request may carry (50 WeChat calls of 20). */
export const OPENIDS_MAX = 1_000;
export const PAGE_SIZE_MAX = 1_000;
/** Highest page number (10^8 rows at the largest page size: more than any account holds). */
export const PAGE_MAX = 100_000;
export { DATE_RANGE_MAX_DAYS };

export const OpenidList = z.object({
  openids: z
    .array(Openid)
    .min(1, 'give at least one openid')
    .max(OPENIDS_MAX, `at most ${OPENIDS_MAX} openids per request`)
    // The same openid twice would be sent to WeChat twice and reported twice.
    .transform((ids) => [...new Set(ids)]),
});

export const Paging = z.object({
  // Bounded: page 1e20 made an OFFSET past bigint (a 500 from PostgreSQL instead of a 400).
  page: z.coerce.number().int().min(1).max(PAGE_MAX).default(1),
  page_size: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(100),
});

export const UserLookup = z.object({ openid: Openid, lang: Lang.default('zh_CN') });
export const UserRefresh = z.object({ openid: Openid });

export const LongUrl = z.object({
  long_url: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .max(2048, 'at most 2048 characters'),
});

const day = IsoDate.refine(isCalendarDate, 'not a calendar date').refine(
  isSaneDay,
  `must be between ${EARLIEST_DAY} and ${LATEST_DAY}`,
);

/** Optional `from`/`to` (YYYY-MM-DD, inclusive): from <= to, at most DATE_RANGE_MAX_DAYS apart. */
export const DateRange = z
  .object({ from: day.optional(), to: day.optional() })
  .refine((r) => !r.from || !r.to || r.from <= r.to, { message: 'from must not be after to', path: ['from'] })
  .refine((r) => !r.from || !r.to || daysBetween(r.from, r.to) < DATE_RANGE_MAX_DAYS, {
    message: `at most ${DATE_RANGE_MAX_DAYS} days`,
    path: ['to'],
  });
export type DateRange = z.infer<typeof DateRange>;

export const RunId = z.coerce.number().int().positive('a run id is a positive integer');

/** Parses `input` with `schema` or throws InputError listing `field: rule` (never the value). */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new InputError(formatIssues(result.error, { max: 5 }).join('; '));
}
