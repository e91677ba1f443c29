/**
 * Template categories from Meta: the gateway reads each tenant's templates from
 * `GET /{version}/{waba-id}/message_templates` (the simulator serves its configured ones), so a
 * template sent without X-Sendgate-Category is judged by its real category; a
 * template_category_update webhook (Meta's shape) changes it.
 * Observed through the opt-out: a user who wrote STOP gets utility templates, not marketing ones
 * (and a template of unknown category is treated as marketing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signMetaBody } from '../../src/webhooks/index.js';
import { APP_SECRET, startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';
import { eventually } from '../support/stack.js';

const WABA = '100000000000001'; // the simulator's default WABA id
let s: E2eStack;

beforeAll(async () => {
  s = await startE2e({
    tenant: { wabaIds: [WABA], policy: { optIn: 'off', serviceWindow: 'off' } },
    sim: {
      templates: [
        { name: 'order_update', language: 'en_US', category: 'UTILITY' },
        { name: 'spring_sale', language: 'en_US', category: 'MARKETING' },
        { name: 'login_code', language: 'en_US', category: 'AUTHENTICATION' },
        // More than one page (the gateway asks 200 at a time): the cursor paging is followed.
        ...Array.from({ length: 450 }, (_, i) => ({ name: `bulk_${i}`, language: 'pt_BR', category: 'UTILITY' as const })),
      ],
    },
  });
});
afterAll(() => s?.close());

function categoryUpdate(name: string, previous: string, next: string): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{
      id: WABA, time: 1739321024,
      changes: [{ field: 'template_category_update', value: { message_template_id: 12345678, message_template_name: name, message_template_language: 'en_US', previous_category: previous, new_category: next } }],
    }],
  });
}

describe('template categories', () => {
  it("a template without X-Sendgate-Category takes Meta's category; template_category_update changes it", async () => {
    const to = user(7001);
    await s.inbound(to, 'STOP');
    // Read from Meta in the background at start, page by page: the last page's template goes
    // through once known (a utility template), so every page was read.
    await eventually(async () => ((await s.send(tpl(to, 'bulk_449'))).status === 202 ? true : undefined));
    const utility = await s.send(tpl(to, 'order_update'));
    expect(utility.status).toBe(202);
    await s.waitForState(utility.json.messages[0].id, ['sent', 'delivered', 'read']);
    expect((await s.send(tpl(to, 'login_code'))).status).toBe(202);
    expect((await s.send(tpl(to, 'spring_sale'))).status).toBe(422); // marketing, opted out
    expect((await s.send(tpl(to, 'never_heard_of'))).status).toBe(422); // unknown counts as marketing

    const body = categoryUpdate('order_update', 'UTILITY', 'MARKETING');
    expect(await s.postMeta(body, { 'x-hub-signature-256': signMetaBody(body, APP_SECRET) })).toBe(200);
    const refused = await s.send(tpl(to, 'order_update'));
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe(131050);
  });
});
