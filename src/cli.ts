#!/usr/bin/env node
/** sendgate CLI: `sendgate serve [--config FILE]`, `sendgate simulate [--port N] [--config FILE]`. */
const [command = 'serve'] = process.argv.slice(2);
process.stderr.write(`sendgate: '${command}' is not implemented yet\n`);
process.exit(2);
