/**
 * The config `sendgate serve` uses when given none: one demo tenant and number, embedded storage in
 * ./data, and the bundled Cloud API simulator (started in-process) as upstream.
 */
import type { Config } from './schema.js';
import { parseConfig } from './load.js';

export const DEMO_API_KEY = 'demo-key-change-me';
export const DEMO_NUMBER_ID = '100000000000001';
export const DEMO_ACCESS_TOKEN = 'demo-meta-token';
/** The simulator signs its webhooks to the demo gateway with this app secret. */
export const DEMO_APP_SECRET = 'demo-app-secret';

export function demoConfig(simulatorUrl: string, port: number, dataPath: string): Readonly<Config> {
  return parseConfig({
    listen: { host: '127.0.0.1', port },
    storage: { kind: 'embedded', path: dataPath },
    upstream: { baseUrl: simulatorUrl, version: 'v23.0' },
    webhooks: { appSecret: DEMO_APP_SECRET, verifyToken: 'demo-verify-token' },
    tenants: [{
      id: 'demo',
      apiKeys: [DEMO_API_KEY],
      messagingLimit: 250,
      // The demo's curl sends free-form text to a user who never wrote: no service window to check.
      policy: { serviceWindow: 'off' },
      numbers: [{ phoneNumberId: DEMO_NUMBER_ID, accessToken: DEMO_ACCESS_TOKEN, mps: 80, burst: 80 }],
    }],
  }, 'demo config');
}

export function demoCurl(gatewayUrl: string): string {
  return `curl -s -X POST ${gatewayUrl}/v23.0/${DEMO_NUMBER_ID}/messages \\
  -H 'Authorization: Bearer ${DEMO_API_KEY}' -H 'Content-Type: application/json' \\
  -d '{"messaging_product":"whatsapp","to":"+16505551234","type":"text","text":{"body":"Hello from sendgate"}}'`;
}
