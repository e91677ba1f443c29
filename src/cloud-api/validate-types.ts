/**
 * Per-type checks of the object named after `type` (text, template, media, interactive, ...).
 * Limits follow Meta's documented maxima. Codes: 131008 when a required field is missing,
 * 131009 when a value is present but not valid, 100 when the shape itself is wrong.
 * Hand-written rather than schema-driven: this runs on the gateway's hot path.
 */
import type { BodyProblem } from './validate.js';

type Obj = Record<string, unknown>;

export const missing = (path: string): BodyProblem => ({ code: 131008, details: `Parameter '${path}' is required.` });
export const invalid = (path: string, why: string): BodyProblem => ({ code: 131009, details: `Parameter '${path}' is not valid: ${why}.` });

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A required string of 1..max characters (max counted in UTF-16 units, close enough to Meta's characters). */
function str(o: Obj, key: string, path: string, max: number, required = true, allowEmpty = false): BodyProblem | null {
  const v = o[key];
  if (v === undefined) return required ? missing(`${path}.${key}`) : null;
  if (typeof v !== 'string') return invalid(`${path}.${key}`, 'must be a string');
  if (!allowEmpty && v.length === 0) return required ? missing(`${path}.${key}`) : invalid(`${path}.${key}`, 'must not be empty');
  if (v.length > max) return invalid(`${path}.${key}`, `must be at most ${max} characters`);
  return null;
}

function obj(o: Obj, key: string, path: string): Obj | BodyProblem {
  const v = o[key];
  if (v === undefined) return missing(`${path}.${key}`);
  if (!isObject(v)) return invalid(`${path}.${key}`, 'must be an object');
  return v;
}

const isProblem = (v: unknown): v is BodyProblem => isObject(v) && typeof (v as Obj)['code'] === 'number' && 'details' in (v as Obj);

function isHttpUrl(s: string): boolean {
  return (s.startsWith('https://') || s.startsWith('http://')) && s.length > 8 && !/\s/.test(s);
}

export function validateText(t: Obj): BodyProblem | null {
  const p = str(t, 'body', 'text', 4096);
  if (p) return p;
  if (t['preview_url'] !== undefined && typeof t['preview_url'] !== 'boolean') return invalid('text.preview_url', 'must be a boolean');
  return null;
}

const MEDIA_CAPTION: Record<string, boolean> = { image: true, video: true, document: true, audio: false, sticker: false };

export function validateMedia(type: string, m: Obj): BodyProblem | null {
  const hasId = m['id'] !== undefined;
  const hasLink = m['link'] !== undefined;
  if (!hasId && !hasLink) return missing(`${type}.id or ${type}.link`);
  if (hasId && hasLink) return invalid(type, 'give either id or link, not both');
  if (hasId) {
    const p = str(m, 'id', type, 256);
    if (p) return p;
  } else {
    const link = m['link'];
    if (typeof link !== 'string' || link.length > 2048 || !isHttpUrl(link)) return invalid(`${type}.link`, 'must be an http(s) URL');
  }
  if (m['caption'] !== undefined) {
    if (!MEDIA_CAPTION[type]) return invalid(`${type}.caption`, `${type} messages have no caption`);
    const p = str(m, 'caption', type, 1024, false);
    if (p) return p;
  }
  if (m['filename'] !== undefined) {
    if (type !== 'document') return invalid(`${type}.filename`, 'only documents have a filename');
    const p = str(m, 'filename', type, 240, false);
    if (p) return p;
  }
  return null;
}

/**
 * A template text parameter: Meta's own examples pass booleans to quick-reply buttons
 * ("Send Sample Issue Resolution Template": `{"type":"text","text":true}`), so scalars are accepted.
 */
function scalarText(q: Obj, key: string, path: string, max: number): BodyProblem | null {
  const v = q[key];
  if (typeof v === 'number' || typeof v === 'boolean') return null;
  return str(q, key, path, max);
}

export function validateTemplate(t: Obj): BodyProblem | null {
  let p = str(t, 'name', 'template', 512);
  if (p) return p;
  const lang = obj(t, 'language', 'template');
  if (isProblem(lang)) return lang;
  p = str(lang, 'code', 'template.language', 15);
  if (p) return p;
  const comps = t['components'];
  if (comps === undefined) return null;
  if (!Array.isArray(comps)) return invalid('template.components', 'must be an array');
  for (let i = 0; i < comps.length; i++) {
    const c: unknown = comps[i];
    const path = `template.components[${i}]`;
    if (!isObject(c)) return invalid(path, 'must be an object');
    if (typeof c['type'] !== 'string') return missing(`${path}.type`);
    // Component and parameter types sendgate does not read (carousel cards, limited-time offers,
    // order status, ...) pass through: Meta adds them and judges them against the template.
    if (c['type'] === 'button') {
      if (typeof c['sub_type'] !== 'string') return missing(`${path}.sub_type`);
      const idx = c['index'];
      const n = typeof idx === 'string' ? Number(idx) : idx;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 9) return invalid(`${path}.index`, 'must be 0..9');
    }
    const params = c['parameters'];
    if (params === undefined) continue;
    if (!Array.isArray(params)) return invalid(`${path}.parameters`, 'must be an array');
    for (let j = 0; j < params.length; j++) {
      const q: unknown = params[j];
      const qpath = `${path}.parameters[${j}]`;
      if (!isObject(q)) return invalid(qpath, 'must be an object');
      const qt = q['type'];
      if (typeof qt !== 'string') return missing(`${qpath}.type`);
      if (qt === 'text' || qt === 'payload' || qt === 'coupon_code') {
        const pp = scalarText(q, qt, qpath, 32_768);
        if (pp) return pp;
      } else if (qt === 'image' || qt === 'video' || qt === 'document') {
        const m = obj(q, qt, qpath);
        if (isProblem(m)) return m;
        const mp = validateMedia(qt, m);
        if (mp) return mp;
      } else if (qt === 'currency' || qt === 'date_time') {
        const v = obj(q, qt, qpath);
        if (isProblem(v)) return v;
        const fp = str(v, 'fallback_value', `${qpath}.${qt}`, 1024);
        if (fp) return fp;
      }
    }
  }
  return null;
}

function validateButtons(action: Obj): BodyProblem | null {
  const buttons = action['buttons'];
  if (buttons === undefined) return missing('interactive.action.buttons');
  if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 3) return invalid('interactive.action.buttons', 'must hold 1 to 3 buttons');
  const ids = new Set<string>();
  for (let i = 0; i < buttons.length; i++) {
    const b: unknown = buttons[i];
    const path = `interactive.action.buttons[${i}]`;
    if (!isObject(b)) return invalid(path, 'must be an object');
    if (b['type'] !== 'reply') return invalid(`${path}.type`, "must be 'reply'");
    const reply = obj(b, 'reply', path);
    if (isProblem(reply)) return reply;
    const p = str(reply, 'id', `${path}.reply`, 256) ?? str(reply, 'title', `${path}.reply`, 20);
    if (p) return p;
    const id = reply['id'] as string;
    if (ids.has(id)) return invalid(`${path}.reply.id`, 'button ids must be unique');
    ids.add(id);
  }
  return null;
}

function validateList(action: Obj): BodyProblem | null {
  const p = str(action, 'button', 'interactive.action', 20);
  if (p) return p;
  const sections = action['sections'];
  if (sections === undefined) return missing('interactive.action.sections');
  if (!Array.isArray(sections) || sections.length < 1 || sections.length > 10) return invalid('interactive.action.sections', 'must hold 1 to 10 sections');
  let rowCount = 0;
  const ids = new Set<string>();
  for (let i = 0; i < sections.length; i++) {
    const s: unknown = sections[i];
    const path = `interactive.action.sections[${i}]`;
    if (!isObject(s)) return invalid(path, 'must be an object');
    const tp = str(s, 'title', path, 24, sections.length > 1);
    if (tp) return tp;
    const rows = s['rows'];
    if (rows === undefined) return missing(`${path}.rows`);
    if (!Array.isArray(rows) || rows.length < 1) return invalid(`${path}.rows`, 'must hold at least one row');
    for (let j = 0; j < rows.length; j++) {
      const r: unknown = rows[j];
      const rpath = `${path}.rows[${j}]`;
      if (!isObject(r)) return invalid(rpath, 'must be an object');
      const rp = str(r, 'id', rpath, 200) ?? str(r, 'title', rpath, 24) ?? str(r, 'description', rpath, 72, false);
      if (rp) return rp;
      const id = r['id'] as string;
      if (ids.has(id)) return invalid(`${rpath}.id`, 'row ids must be unique');
      ids.add(id);
      rowCount++;
    }
  }
  if (rowCount > 10) return invalid('interactive.action.sections', 'at most 10 rows in total');
  return null;
}

function validateCtaUrl(action: Obj): BodyProblem | null {
  if (action['name'] !== 'cta_url') return invalid('interactive.action.name', "must be 'cta_url'");
  const params = obj(action, 'parameters', 'interactive.action');
  if (isProblem(params)) return params;
  const p = str(params, 'display_text', 'interactive.action.parameters', 20);
  if (p) return p;
  const url = params['url'];
  if (url === undefined) return missing('interactive.action.parameters.url');
  if (typeof url !== 'string' || !isHttpUrl(url)) return invalid('interactive.action.parameters.url', 'must be an http(s) URL');
  return null;
}

export function validateInteractive(it: Obj): BodyProblem | null {
  const kind = it['type'];
  if (kind === undefined) return missing('interactive.type');
  if (typeof kind !== 'string') return invalid('interactive.type', 'must be a string');
  // Other kinds (flow, product, product_list, catalog_message, order_details, order_status,
  // location_request_message, call_permission_request, voice_call, and whatever Meta adds) pass
  // through: their texts are still read by the content policies, Meta judges their shape.
  if (kind === 'button' || kind === 'list' || kind === 'cta_url') {
    const action = obj(it, 'action', 'interactive');
    if (isProblem(action)) return action;
    const body = obj(it, 'body', 'interactive');
    if (isProblem(body)) return body;
    const bp = str(body, 'text', 'interactive.body', kind === 'list' ? 4096 : 1024);
    if (bp) return bp;
    if (it['footer'] !== undefined) {
      if (!isObject(it['footer'])) return invalid('interactive.footer', 'must be an object');
      const fp = str(it['footer'], 'text', 'interactive.footer', 60);
      if (fp) return fp;
    }
    if (it['header'] !== undefined) {
      const h = it['header'];
      if (!isObject(h)) return invalid('interactive.header', 'must be an object');
      if (typeof h['type'] !== 'string') return missing('interactive.header.type');
      if (h['type'] === 'text') {
        const hp = str(h, 'text', 'interactive.header', 60);
        if (hp) return hp;
      } else if (kind === 'list') {
        return invalid('interactive.header.type', "list messages only take a 'text' header");
      }
    }
    if (kind === 'button') return validateButtons(action);
    if (kind === 'list') return validateList(action);
    return validateCtaUrl(action);
  }
  if (it['action'] !== undefined && !isObject(it['action'])) return invalid('interactive.action', 'must be an object');
  return null;
}

function coordinate(v: unknown, limit: number): boolean {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= -limit && n <= limit;
}

export function validateLocation(l: Obj): BodyProblem | null {
  if (l['latitude'] === undefined) return missing('location.latitude');
  if (l['longitude'] === undefined) return missing('location.longitude');
  if (!coordinate(l['latitude'], 90)) return invalid('location.latitude', 'must be a number in -90..90');
  if (!coordinate(l['longitude'], 180)) return invalid('location.longitude', 'must be a number in -180..180');
  return str(l, 'name', 'location', 1000, false) ?? str(l, 'address', 'location', 1000, false);
}

export function validateContacts(list: unknown): BodyProblem | null {
  if (!Array.isArray(list) || list.length === 0) return invalid('contacts', 'must be a non-empty array');
  for (let i = 0; i < list.length; i++) {
    const c: unknown = list[i];
    if (!isObject(c)) return invalid(`contacts[${i}]`, 'must be an object');
    const name = obj(c, 'name', `contacts[${i}]`);
    if (isProblem(name)) return name;
    const p = str(name, 'formatted_name', `contacts[${i}].name`, 1000);
    if (p) return p;
  }
  return null;
}

export function validateReaction(r: Obj): BodyProblem | null {
  // An empty emoji removes a reaction, so it is allowed.
  return str(r, 'message_id', 'reaction', 512) ?? str(r, 'emoji', 'reaction', 16, true, true);
}
