/** Account-level endpoints: WeChat's API server IPs and the (retired) short-URL service. */
import type { WeChatClient } from './client.ts';
import { ApiDomainIpResponse, ShortUrlResponse } from './schemas.ts';

/** GET /cgi-bin/get_api_domain_ip: the IPs api.weixin.qq.com resolves to (for firewall rules). */
export async function getApiDomainIp(client: WeChatClient): Promise<string[]> {
  const answer = await client.get('/cgi-bin/get_api_domain_ip', {}, ApiDomainIpResponse);
  return answer.ip_list;
}

/**
 * POST /cgi-bin/shorturl. WeChat retired this service in 2021: real accounts get an error, which
 * is surfaced as the WeChatApiError it is (no fallback, no retry).
 */
export async function shortUrl(client: WeChatClient, longUrl: string): Promise<string> {
  const answer = await client.post(
    '/cgi-bin/shorturl',
    { action: 'long2short', long_url: longUrl },
    ShortUrlResponse,
  );
  return answer.short_url;
}
