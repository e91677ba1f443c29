/**
 * Message category, for lane priority in the gateway. Meta decides a template's billing category
 * from the template itself (not the send body), so a template is 'unknown' unless the body names
 * the category explicitly (`template.category`, a sendgate extension stripped before forwarding is
 * the caller's business). Every free-form message is a service message.
 */
import { messageType, type MessageBody } from './validate.js';

export type MessageCategory = 'authentication' | 'utility' | 'marketing' | 'service' | 'unknown';

const CATEGORIES = new Set<string>(['authentication', 'utility', 'marketing']);

/** True when the body is a template send (the only kind allowed outside the 24 h window). */
export function isTemplate(body: MessageBody): boolean {
  return messageType(body) === 'template';
}

/**
 * isTemplate for a stored body (JSON text). A body that does not parse counts as a template, so
 * whatever a template holds (a tier slot) is given back rather than kept.
 */
export function isTemplateText(bodyJson: string): boolean {
  try {
    return isTemplate(JSON.parse(bodyJson) as MessageBody);
  } catch {
    return true;
  }
}

export function messageCategory(body: MessageBody): MessageCategory {
  if (!isTemplate(body)) return 'service';
  const t = body['template'];
  if (typeof t === 'object' && t !== null) {
    const c = (t as Record<string, unknown>)['category'];
    if (typeof c === 'string') {
      const lower = c.toLowerCase();
      if (CATEGORIES.has(lower)) return lower as MessageCategory;
    }
  }
  return 'unknown';
}
