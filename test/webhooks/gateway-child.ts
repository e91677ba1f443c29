/**
 * A real gateway process on the current src/ code (transpiled by the test): the config is the JSON
 * file given as argv[2]; the URL it listens on goes to the parent over IPC. The parent ends it with
 * kill -9 (a crash) or SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/server.js';

const config = parseConfig(JSON.parse(readFileSync(process.argv[2]!, 'utf8')), 'gateway child');
const gateway = await startGateway(config, { defaultMetrics: false });
process.once('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
process.send!({ url: gateway.url });
