/**
 * What a recipient would read in a send body, pulled out once per admission for the content
 * policies (repeat, links). Works on the Cloud API body as validated by src/cloud-api; anything
 * missing or of the wrong shape is skipped, never thrown on (validation already answered 400).
 */

import { messageType } from '../cloud-api/index.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

export interface SendContent {
  /** True for `type: "template"` (approved content). */
  template: boolean;
  /** Texts the user reads: free-form bodies and captions, or a template's parameter values. */
  texts: string[];
  /** URLs given as such: interactive cta_url targets, contact cards' URLs. */
  urls: string[];
  /** Template name ('' for free-form). */
  templateName: string;
}

const MEDIA_TYPES = ['image', 'video', 'document', 'audio', 'sticker'];

export function sendContent(body: Obj): SendContent {
  const type = messageType(body);
  const out: SendContent = { template: type === 'template', texts: [], urls: [], templateName: '' };
  if (type === 'template') {
    templateContent(body['template'], out);
    return out;
  }
  if (type === 'text') push(out.texts, isObj(body['text']) ? body['text']['body'] : undefined);
  else if (typeof type === 'string' && MEDIA_TYPES.includes(type)) push(out.texts, isObj(body[type]) ? (body[type] as Obj)['caption'] : undefined);
  else if (type === 'interactive') interactiveContent(body['interactive'], out);
  else if (type === 'location' && isObj(body['location'])) {
    push(out.texts, body['location']['name']);
    push(out.texts, body['location']['address']);
  } else if (type === 'contacts') contactsContent(body['contacts'], out);
  return out;
}

function push(list: string[], v: unknown): void {
  const s = str(v);
  if (s !== undefined) list.push(s);
}

function interactiveContent(i: unknown, out: SendContent): void {
  if (!isObj(i)) return;
  if (isObj(i['header'])) push(out.texts, i['header']['text']);
  if (isObj(i['body'])) push(out.texts, i['body']['text']);
  if (isObj(i['footer'])) push(out.texts, i['footer']['text']);
  const action = i['action'];
  if (!isObj(action)) return;
  if (isObj(action['parameters'])) {
    push(out.urls, action['parameters']['url']);
    // Button labels of flows and other kinds (`flow_cta`, `display_text`) are read too.
    push(out.texts, action['parameters']['flow_cta']);
    push(out.texts, action['parameters']['display_text']);
  }
  if (Array.isArray(action['buttons'])) {
    for (const b of action['buttons']) if (isObj(b) && isObj(b['reply'])) push(out.texts, b['reply']['title']);
  }
  if (Array.isArray(action['sections'])) {
    for (const s of action['sections']) {
      if (!isObj(s) || !Array.isArray(s['rows'])) continue;
      for (const r of s['rows']) {
        if (!isObj(r)) continue;
        push(out.texts, r['title']);
        push(out.texts, r['description']);
      }
    }
  }
}

/** A contact card's URLs are links the user can tap; its names and organisation are texts. */
function contactsContent(list: unknown, out: SendContent): void {
  if (!Array.isArray(list)) return;
  for (const c of list) {
    if (!isObj(c)) continue;
    if (isObj(c['name'])) push(out.texts, c['name']['formatted_name']);
    if (isObj(c['org'])) push(out.texts, c['org']['company']);
    if (Array.isArray(c['urls'])) for (const u of c['urls']) if (isObj(u)) push(out.urls, u['url']);
  }
}

/** Deepest nesting of template components read (carousel cards hold components of their own). */
const MAX_COMPONENT_DEPTH = 3;

/**
 * Template parameters the sender chooses: text, currency/date fallbacks, URL-button suffixes,
 * coupon codes, also inside carousel cards.
 */
function templateContent(t: unknown, out: SendContent): void {
  if (!isObj(t)) return;
  out.templateName = str(t['name']) ?? '';
  componentsContent(t['components'], out, 0);
}

function componentsContent(components: unknown, out: SendContent, depth: number): void {
  if (!Array.isArray(components) || depth >= MAX_COMPONENT_DEPTH) return;
  for (const c of components) {
    if (!isObj(c)) continue;
    if (Array.isArray(c['cards'])) {
      for (const card of c['cards']) if (isObj(card)) componentsContent(card['components'], out, depth + 1);
    }
    if (!Array.isArray(c['parameters'])) continue;
    for (const p of c['parameters']) {
      if (!isObj(p)) continue;
      // Meta takes scalars as text parameters (booleans on quick replies): they are texts too.
      if (p['type'] === 'text') push(out.texts, typeof p['text'] === 'number' || typeof p['text'] === 'boolean' ? String(p['text']) : p['text']);
      else if (p['type'] === 'currency' && isObj(p['currency'])) push(out.texts, p['currency']['fallback_value']);
      else if (p['type'] === 'date_time' && isObj(p['date_time'])) push(out.texts, p['date_time']['fallback_value']);
      else if (p['type'] === 'coupon_code') push(out.texts, p['coupon_code']);
    }
  }
}
