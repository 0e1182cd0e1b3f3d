/**
 * Deterministic follower population: openids and profiles derived from (seed, index). Nothing is
 * stored per follower; the state keeps only mutations (see state.ts).
 */
import type { UserInfo } from '../wechat/schemas.ts';
import { decode32, encode32, hash32, Permutation32, Rng, randomChars } from './prng.ts';

const SURNAMES = [
  ...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤',
];
const GIVEN = [
  ...'伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉晨宇轩浩然梓涵子墨雨欣思彤一诺佳怡欣怡嘉豪俊杰',
];
const WORDS = [
  '小确幸',
  '追光者',
  '晴天',
  '向日葵',
  '半夏',
  '南风',
  '星河',
  '清风徐来',
  '岁月静好',
  '好好学习',
  '阿猫',
  '大橙子',
  '柠檬不萌',
  '小鱼儿',
  '山海',
];
const LATIN = ['Band', 'iWithery', 'Lucky', 'Kevin', 'Amy', 'Jason', 'Coco', 'Leo', 'Mia', 'Tony'];
const EMOJI = ['😀', '🌸', '🍀', '🐱', '🌙', '☀️', '🎈', '🔥', '💯', '🍉', '👨‍👩‍👧', '🇨🇳'];
const PLACES = [
  ['广东', '广州'],
  ['广东', '深圳'],
  ['广东', '揭阳'],
  ['北京', '朝阳'],
  ['上海', '浦东新区'],
  ['浙江', '杭州'],
  ['四川', '成都'],
  ['湖北', '武汉'],
] as const;
/** subscribe_scene values from WeChat's user/info documentation, most common first. */
export const SCENES = [
  'ADD_SCENE_SEARCH',
  'ADD_SCENE_QR_CODE',
  'ADD_SCENE_PROFILE_CARD',
  'ADD_SCENE_ACCOUNT_MIGRATION',
  'ADD_SCENE_PROFILE_LINK',
  'ADD_SCENE_PROFILE_ITEM',
  'ADD_SCENE_PAID',
  'ADD_SCENE_WECHAT_ADVERTISEMENT',
  'ADD_SCENE_REPRINT',
  'ADD_SCENE_LIVESTREAM',
  'ADD_SCENE_CHANNELS',
  'ADD_SCENE_OTHERS',
] as const;
const SCENE_WEIGHTS = [30, 25, 10, 3, 8, 4, 2, 5, 4, 3, 3, 3];
const SCENE_TOTAL = SCENE_WEIGHTS.reduce((a, b) => a + b, 0);
/** Tag ids: 2 is WeChat's built-in "星标组"; 100+ are account-defined. */
export const TAG_IDS = [2, 100, 101, 102, 103, 104, 105, 106, 107, 108];
/** The names tags/get answers for TAG_IDS at start. */
export const TAG_NAMES: Readonly<Record<number, string>> = {
  2: '星标组',
  100: '高价值客户',
  101: '广东',
  102: '活动-双十一',
  103: '新品试用',
  104: '会员',
  105: 'VIP🌟',
  106: '待回访',
  107: '北京',
  108: '已购课程',
};

/** Initial followers' subscribe_time spreads from 2014-01-01 to 2025-12-01 (UTC), in list order. */
const TIME_FROM = Date.UTC(2014, 0, 1) / 1000;
const TIME_TO = Date.UTC(2025, 11, 1) / 1000;

export interface PeopleOptions {
  seed: number;
  unionidShare: number;
}

/** A generated profile before mutations: everything user/info would say about a follower. */
export type BaseProfile = Omit<UserInfo, 'subscribe'>;

export class People {
  private readonly perm: Permutation32;
  /** Five characters every openid of this account starts with (after the leading 'o'), like real ones. */
  readonly openidPrefix: string;
  private readonly unionPrefix: string;

  constructor(private readonly options: PeopleOptions) {
    this.perm = new Permutation32(hash32(options.seed, 0x0be1d));
    const rng = new Rng(hash32(options.seed, 0xacc7));
    this.openidPrefix = `o${randomChars(rng, 5)}`;
    this.unionPrefix = `o${randomChars(rng, 5)}`;
  }

  /** 28 characters of [A-Za-z0-9_-]: prefix (6) + permuted index (6) + noise (16). */
  openid(index: number): string {
    const y = this.perm.forward(index);
    const rng = new Rng(hash32(this.options.seed, index, 0x0b1d));
    return `${this.openidPrefix}${encode32(y, rng.nextU32())}${randomChars(rng, 16)}`;
  }

  /** The population index an openid stands for, or undefined when it is not one of ours. */
  indexOf(openid: string): number | undefined {
    if (openid.length !== 28 || !openid.startsWith(this.openidPrefix)) return undefined;
    const y = decode32(openid.slice(6, 12));
    if (y === undefined) return undefined;
    const index = this.perm.inverse(y);
    return this.openid(index) === openid ? index : undefined;
  }

  hasUnionid(index: number): boolean {
    return hash32(this.options.seed, index, 0x0a11) / 4294967296 < this.options.unionidShare;
  }

  unionid(index: number): string | undefined {
    if (!this.hasUnionid(index)) return undefined;
    return `${this.unionPrefix}${randomChars(new Rng(hash32(this.options.seed, index, 0x0a12)), 22)}`;
  }

  /**
   * The generated profile of `index`. `initialPopulation` spreads subscribe_time over the years in
   * list order (WeChat lists followers roughly by subscription time).
   */
  profile(index: number, initialPopulation: number): BaseProfile {
    const rng = new Rng(hash32(this.options.seed, index, 0x9f11e));
    const nickname = this.nickname(rng);
    // Since late 2021 WeChat returns sex 0 and empty places/avatars for most calls.
    const sex = rng.chance(0.85) ? 0 : rng.int(1, 2);
    const place = rng.chance(0.12) ? rng.pick(PLACES) : undefined;
    const headimgurl = rng.chance(0.35) ? '' : `http://thirdwx.qlogo.cn/mmopen/${randomChars(rng, 60)}/132`;
    const span = (TIME_TO - TIME_FROM) / Math.max(1, initialPopulation);
    const subscribe_time = Math.floor(TIME_FROM + index * span + rng.next() * span);
    // Tags come from their own stream (tagIds), so tags/get can count them without generating
    // profiles; these draws stay so the fields after them are what they always were for a seed.
    const legacyTagDraws = rng.chance(0.55) ? 0 : rng.int(1, 3);
    for (let k = 0; k < legacyTagDraws; k++) rng.pick(TAG_IDS);
    const tagid_list = this.tagIds(index);
    const scene = this.scene(rng);
    const isQr = scene === 'ADD_SCENE_QR_CODE';
    const qr_scene = isQr ? rng.int(1, 100_000) : 0;
    const qr_scene_str = isQr && rng.chance(0.3) ? `campaign_${rng.int(1, 40)}` : '';
    const unionid = this.unionid(index);
    return {
      openid: this.openid(index),
      nickname,
      sex,
      language: rng.chance(0.92) ? 'zh_CN' : rng.pick(['en', 'zh_TW']),
      city: place?.[1] ?? '',
      province: place?.[0] ?? '',
      country: place ? '中国' : '',
      headimgurl,
      subscribe_time,
      ...(unionid === undefined ? {} : { unionid }),
      remark: rng.chance(0.03) ? `客户${rng.int(1, 999)}` : '',
      groupid: 0,
      tagid_list,
      subscribe_scene: scene,
      qr_scene,
      qr_scene_str,
    };
  }

  /** The generated tags of `index` (about 45% carry 1 to 3), sorted. */
  tagIds(index: number): number[] {
    const rng = new Rng(hash32(this.options.seed, index, 0x7a95));
    const count = rng.chance(0.55) ? 0 : rng.int(1, 3);
    return [...new Set(Array.from({ length: count }, () => rng.pick(TAG_IDS)))].sort((a, b) => a - b);
  }

  private nickname(rng: Rng): string {
    const roll = rng.next();
    if (roll < 0.25) return ''; // post-2021: WeChat often answers an empty nickname
    let name: string;
    if (roll < 0.65) {
      name = rng.pick(SURNAMES) + rng.pick(GIVEN) + (rng.chance(0.5) ? rng.pick(GIVEN) : '');
    } else if (roll < 0.88) {
      name = rng.pick(WORDS);
    } else {
      name = rng.pick(LATIN);
    }
    if (rng.chance(0.3)) name += rng.pick(EMOJI);
    if (rng.chance(0.05)) name = rng.pick(EMOJI) + name;
    return name;
  }

  private scene(rng: Rng): string {
    let r = rng.next() * SCENE_TOTAL;
    for (let i = 0; i < SCENES.length; i++) {
      r -= SCENE_WEIGHTS[i]!;
      if (r < 0) return SCENES[i]!;
    }
    return 'ADD_SCENE_OTHERS';
  }
}
