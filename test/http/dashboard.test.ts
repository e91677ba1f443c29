/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * the page loads with the admin token from the URL fragment, shows a number's queue depth after
 * sends, its Pause button pauses the number in the gateway, and a broadcast created through the
 * API shows in the broadcasts panel with its progress. UPDATE_SCREENSHOT=1 saves the
 * README's docs/dashboard.png.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broadcastBody, call, employee } from '../broadcasts/support.js';
import { NUMBER, eventually, startStack, templateBody, type Stack } from '../support/stack.js';

const ADMIN = 'admin-token-0123456789';
const BUSY = '1002';
let stack: Stack;
let browser: Browser;

function chromiumPath(): string {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install -y chromium (.ci/run installs it)');
  }
}

beforeAll(async () => {
  stack = await startStack({
    gateway: { admin: { token: ADMIN } },
    // NUMBER slow enough that sends wait in its queue for the page to see them; BUSY sends freely.
    numbers: [
      { phoneNumberId: NUMBER, accessToken: 'EAAG-acme-token', mps: 1, burst: 1 },
      { phoneNumberId: BUSY, accessToken: 'EAAG-acme-token-2', mps: 20, burst: 20 },
    ],
  });
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function simFaults(phoneNumberId: string, faults: unknown): Promise<void> {
  const res = await request(`${stack.sim.url}/__sim/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phoneNumberId, faults }),
  });
  await res.body.dump();
}

describe('dashboard', () => {
  it('serves the API docs UI from the package alone (no request leaves the gateway)', async () => {
    const page = await browser.newPage();
    const outside: string[] = [];
    await page.route('**/*', (route) => {
      if (route.request().url().startsWith(stack.gateway.url)) return route.continue();
      outside.push(route.request().url());
      return route.abort();
    });
    await page.goto(`${stack.gateway.url}/docs`);
    await page.locator('.opblock-summary-path', { hasText: '/admin/numbers' }).first().waitFor({ timeout: 15_000 });
    expect(await page.locator('.info .title').textContent()).toContain('sendgate');
    expect(outside).toEqual([]);
    await page.close();
  });

  it('asks for the token when none is given, and says so when it is wrong', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.gateway.url}/dashboard`);
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#token', 'not-the-admin-token-000');
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.textContent('#login-error')).toContain('refused');
    await page.close();
  });

  it('shows a number\'s queue after sends, and pausing from the page pauses the number', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${stack.gateway.url}/dashboard#token=${ADMIN}`);
    // The token leaves the address bar once read.
    await expect.poll(() => page.url()).not.toContain(ADMIN);
    const row = page.locator(`tr[data-number="${NUMBER}"]`);
    await row.waitFor();

    for (let i = 0; i < 6; i++) expect((await stack.send(templateBody(`+1650555700${i}`))).status).toBe(202);
    await expect.poll(async () => Number(await row.locator('td.depth').textContent()), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(await page.locator('#usage tr[data-tenant="acme"]').count()).toBe(1);

    await row.locator('button.pause').click();
    await eventually(() => (stack.gateway.dispatcher.snapshot().find((l) => l.phoneNumberId === NUMBER)?.paused ? true : undefined));
    await expect.poll(() => row.locator('td.pause').textContent()).toContain('operator');
    // A paused number refuses new sends: the gateway really holds it.
    expect((await stack.send(templateBody('+16505557100'))).status).toBe(429);

    // Traffic on the other number, some of it refused upstream (failures by code), for the screenshot.
    await simFaults(BUSY, { errorRates: { 131009: 0.2 } });
    let n = 0;
    const busy = setInterval(() => void stack.send(templateBody(`+16505558${String(n++ % 1000).padStart(3, '0')}`), {}, `/v23.0/${BUSY}/messages`), 125);
    try {
      await expect.poll(() => page.locator('#failures tbody').textContent(), { timeout: 10_000 }).toContain('131009');
      await expect.poll(async () => Number(await page.locator(`tr[data-number="${BUSY}"] td.sent-rate`).textContent()), { timeout: 10_000 }).toBeGreaterThan(0);
      await page.waitForTimeout(4000); // a few more samples on the charts
      // The README's picture is refreshed on request (UPDATE_SCREENSHOT=1); otherwise it goes to a temp file.
      const shot = process.env.UPDATE_SCREENSHOT === '1' ? 'docs/dashboard.png' : join(mkdtempSync(join(tmpdir(), 'sendgate-dash-')), 'dashboard.png');
      expect((await page.screenshot({ path: shot, fullPage: true })).length).toBeGreaterThan(10_000);
    } finally {
      clearInterval(busy);
    }

    await row.locator('button.resume').click();
    await eventually(() => (stack.gateway.dispatcher.snapshot().find((l) => l.phoneNumberId === NUMBER)?.paused === false ? true : undefined));
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a broadcast created through the API with its progress', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const adminCall = (path: string) => call(stack.gateway.url, 'POST', path, undefined, { authorization: `Bearer ${ADMIN}` });
    // Held while the page first sees it, so it is seen running with nothing sent.
    expect((await adminCall(`/admin/numbers/${NUMBER}/pause`)).status).toBe(200);
    const created = await call(stack.gateway.url, 'POST', '/v1/broadcasts', broadcastBody([0, 1, 2].map((i) => ({ to: employee(i) }))));
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const id = created.json.id as string;

    await page.goto(`${stack.gateway.url}/dashboard#token=${ADMIN}`);
    const row = page.locator(`#broadcasts tr[data-broadcast="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('td.state').textContent()).toBe('running');
    expect(await row.locator('td.done').textContent()).toBe('0 / 3');
    expect(await row.locator('.bar > span').evaluate((e) => (e as unknown as { style: { width: string } }).style.width)).toBe('0%');
    expect(await row.textContent()).toContain('acme');

    expect((await adminCall(`/admin/numbers/${NUMBER}/resume`)).status).toBe(200);
    // The panel follows on its own refresh: every recipient sent, a full bar, the broadcast completed.
    await expect.poll(() => row.locator('td.done').textContent(), { timeout: 20_000 }).toBe('3 / 3');
    await expect.poll(() => row.locator('td.state').textContent(), { timeout: 10_000 }).toBe('completed');
    expect(await row.locator('.bar > span').evaluate((e) => (e as unknown as { style: { width: string } }).style.width)).toBe('100%');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
