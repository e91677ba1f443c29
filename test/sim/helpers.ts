import { request } from 'undici';

export const TOKEN = 'EAAG-test-token';
export const text = (to: string, body = 'hi') => ({ messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { body } });

export interface Answer {
  status: number;
  json: any;
}

export async function post(url: string, body: unknown, token: string | null = TOKEN, raw?: string, contentType = 'application/json'): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  const res = await request(url, { method: 'POST', headers, body: raw ?? JSON.stringify(body) });
  const textBody = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(textBody) };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
