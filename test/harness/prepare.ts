/**
 * Install what the end-to-end suites need, once, before they run: Prosody, ngircd and
 * InspIRCd from Debian's packages, Synapse and the E2EE test client (matrix-nio with
 * libolm) into their cached virtualenvs. The harness would do
 * the same lazily; doing it first keeps install time out of the tests' own timeouts.
 *   node --import tsx test/harness/prepare.ts
 */
import { ATHEME, ensureDebianPackages, HAPROXY, INSPIRCD, NGIRCD, POSTGRES, PROMETHEUS, PROSODY } from './apt.js';
import { ensureE2eeClient, NIO_VERSION } from './e2ee-client.js';
import { ensureSynapse, SYNAPSE_VERSION } from './synapse.js';

const t0 = Date.now();
ensureDebianPackages([PROSODY, NGIRCD, INSPIRCD, ATHEME, PROMETHEUS, POSTGRES, HAPROXY]);
const t1 = Date.now();
const venv = ensureSynapse((line) => process.stdout.write(`${line}\n`));
const t2 = Date.now();
const nio = ensureE2eeClient((line) => process.stdout.write(`${line}\n`));
const t3 = Date.now();
process.stdout.write(`test servers ready: prosody, ngircd, inspircd, atheme, prometheus, postgresql, haproxy (${((t1 - t0) / 1000).toFixed(1)} s); synapse ${SYNAPSE_VERSION} in ${venv} (${((t2 - t1) / 1000).toFixed(1)} s); matrix-nio ${NIO_VERSION} with libolm in ${nio} (${((t3 - t2) / 1000).toFixed(1)} s)\n`);
