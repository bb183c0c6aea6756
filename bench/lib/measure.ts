/** Small measuring helpers the benchmarks share. */
import { readFileSync } from 'node:fs';

/** The p-th percentile (nearest rank) of some samples. */
export const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU seconds a process has used so far (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Messages named `b:<portal>:<k>` (k counting up within a portal), in the order they were
 * seen: how many came after a later one of the same portal.
 */
export function outOfOrder(seen: Iterable<string>): number {
  const lastIndex = new Map<string, number>();
  let count = 0;
  for (const text of seen) {
    const [, portal, k] = text.split(':');
    if ((lastIndex.get(portal!) ?? -1) > Number(k)) count++;
    lastIndex.set(portal!, Number(k));
  }
  return count;
}
