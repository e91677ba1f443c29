/**
 * Demo mode: the bundled Cloud API simulator in-process as upstream, a demo tenant, embedded
 * storage in ./data. What a newcomer gets from `npm start` with no config.
 */
import { DEMO_ACCESS_TOKEN, DEMO_APP_SECRET, DEMO_NUMBER_ID, demoConfig, demoCurl } from './config/demo.js';
import { startGateway } from './server.js';
import { startSimulator } from './sim/index.js';

export async function startDemo(port: number, dataPath = process.env.SENDGATE_DATA ?? './data'): Promise<{ url: string; close(): Promise<void> }> {
  // The simulator sends signed status webhooks (delivered, read) back to the gateway, as Meta would.
  const sim = await startSimulator({
    host: '127.0.0.1', port: 0,
    numbers: [{ phoneNumberId: DEMO_NUMBER_ID, accessToken: DEMO_ACCESS_TOKEN }],
    webhook: { url: `http://127.0.0.1:${port}/webhooks/whatsapp`, appSecret: DEMO_APP_SECRET },
  });
  const gateway = await startGateway(demoConfig(sim.url, port, dataPath));
  process.stdout.write(`sendgate demo: gateway on ${gateway.url}, Cloud API simulator on ${sim.url}, data in ${dataPath}
Try:
${demoCurl(gateway.url)}
then: curl -s ${gateway.url}/v1/messages/<id> -H 'Authorization: Bearer demo-key-change-me'
`);
  return {
    url: gateway.url,
    async close() {
      await gateway.close();
      await sim.close();
    },
  };
}
