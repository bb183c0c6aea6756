/**
 * Debian packages the test servers need (Prosody, ngircd), installed on first use so a
 * fresh machine needs no manual step. Services are kept from starting during the install
 * (policy-rc.d), because a packaged daemon would listen on its default, public ports.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

export interface DebianTool {
  /** Debian package name. */
  pkg: string;
  /** A file the package installs, to tell whether it is there. */
  binary: string;
}

export const PROSODY: DebianTool = { pkg: 'prosody', binary: '/usr/bin/prosody' };
export const NGIRCD: DebianTool = { pkg: 'ngircd', binary: '/usr/sbin/ngircd' };
export const INSPIRCD: DebianTool = { pkg: 'inspircd', binary: '/usr/sbin/inspircd' };
export const ATHEME: DebianTool = { pkg: 'atheme-services', binary: '/usr/bin/atheme-services' };
export const PROMETHEUS: DebianTool = { pkg: 'prometheus', binary: '/usr/bin/prometheus' };
export const POSTGRES: DebianTool = { pkg: 'postgresql-15', binary: '/usr/lib/postgresql/15/bin/postgres' };
export const HAPROXY: DebianTool = { pkg: 'haproxy', binary: '/usr/sbin/haproxy' };

export function ensureDebianPackages(tools: DebianTool[]): void {
  const missing = tools.filter((t) => !existsSync(t.binary)).map((t) => t.pkg);
  if (missing.length === 0) return;
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : ['sudo', '-n'];
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, ...args];
    execFileSync(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
  };
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = root && !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\n# written by the Switchboard test harness during apt-get install\nexit 101\n', { mode: 0o755 });
  try {
    const install = ['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing];
    try {
      run(install);
    } catch {
      run(['apt-get', 'update', '-q']);
      run(install);
    }
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`could not install ${missing.join(', ')} with apt-get (${root ? 'as root' : 'with sudo -n'}): ${e.stderr?.toString().trim() || e.message}`);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
  const still = tools.filter((t) => !existsSync(t.binary));
  if (still.length) throw new Error(`apt-get install finished but ${still.map((t) => t.binary).join(', ')} is missing`);
}
