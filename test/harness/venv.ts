/**
 * Python tools the tests run (Synapse, the E2EE test client), each in its own cached
 * virtualenv under ~/.cache/switchboard, installed from PyPI on first use. A venv is
 * built beside its final path and renamed into place, so concurrent test files never
 * see a half-built one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function cachedVenvPath(name: string): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'switchboard', name);
}

export interface VenvSpec {
  /** What pip installs, pinned. */
  requirements: string[];
  /** Python that prints the installed version, and the version it must print. */
  probe: string;
  version: string;
  /** For messages. */
  what: string;
}

function installedVersion(venv: string, probe: string): string | undefined {
  try {
    return execFileSync(join(venv, 'bin', 'python'), ['-c', probe], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

export function ensureVenv(venv: string, spec: VenvSpec, log: (line: string) => void = () => undefined): string {
  if (installedVersion(venv, spec.probe) === spec.version) return venv;
  const python = process.env.PYTHON ?? 'python3';
  const building = `${venv}.building-${process.pid}`;
  mkdirSync(dirname(venv), { recursive: true });
  rmSync(building, { recursive: true, force: true });
  log(`installing ${spec.what} ${spec.version} into ${venv} (once; takes about a minute)`);
  try {
    execFileSync(python, ['-m', 'venv', building], { stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync(join(building, 'bin', 'python'), ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', ...spec.requirements], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`could not install ${spec.requirements.join(' ')} with ${python} -m venv / pip: ${e.stderr?.toString().trim().split('\n').slice(-15).join('\n') || e.message}`);
  }
  if (installedVersion(venv, spec.probe) === spec.version) {
    rmSync(building, { recursive: true, force: true }); // another test file finished first
  } else {
    rmSync(venv, { recursive: true, force: true });
    renameSync(building, venv);
  }
  return venv;
}
