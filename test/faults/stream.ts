/**
 * Bookkeeping of the fault-injection suite: numbered messages per stream (a direction
 * and a portal), the phase each was sent in, and the verdict from what arrived: lost,
 * duplicated, reordered, per phase.
 */
export type Direction = 'm2r' | 'r2m';

export interface Sent {
  n: number;
  phase: string;
}

/** The text of message `n` of a stream; found again by `parseMarker` in whatever the other side made of it. */
export const marker = (dir: Direction, portal: string, n: number) => `${dir}:${portal}:${n}`;
const MARKER = /\b(m2r|r2m):([a-z0-9]+):(\d+)\b/;

export function parseMarker(text: string): { dir: Direction; portal: string; n: number } | undefined {
  const m = MARKER.exec(text);
  return m ? { dir: m[1] as Direction, portal: m[2]!, n: Number(m[3]) } : undefined;
}

export class Streams {
  private readonly sent = new Map<string, Sent[]>();
  private readonly next = new Map<string, number>();

  /** Number the next message of a stream, sent in `phase`. */
  take(dir: Direction, portal: string, phase: string): number {
    const key = `${dir}:${portal}`;
    const n = (this.next.get(key) ?? 0) + 1;
    this.next.set(key, n);
    const list = this.sent.get(key) ?? [];
    list.push({ n, phase });
    this.sent.set(key, list);
    return n;
  }

  count(dir: Direction): number {
    let total = 0;
    for (const [key, list] of this.sent) if (key.startsWith(`${dir}:`)) total += list.length;
    return total;
  }

  keys(): { dir: Direction; portal: string }[] {
    return [...this.sent.keys()].map((k) => ({ dir: k.split(':')[0] as Direction, portal: k.split(':')[1]! }));
  }

  /** The phase message `n` of a stream was sent in. */
  phaseOf(dir: Direction, portal: string, n: number): string | undefined {
    return this.sent.get(`${dir}:${portal}`)?.find((s) => s.n === n)?.phase;
  }

  /** The numbers of a stream that never arrived (for a post-mortem). */
  missing(dir: Direction, portal: string, received: number[]): number[] {
    const got = new Set(received);
    return (this.sent.get(`${dir}:${portal}`) ?? []).map((s) => s.n).filter((n) => !got.has(n));
  }

  /** Whether every sent message of a stream is among `received` (numbers in arrival order). */
  complete(dir: Direction, portal: string, received: number[]): boolean {
    const got = new Set(received);
    return (this.sent.get(`${dir}:${portal}`) ?? []).every((s) => got.has(s.n));
  }

  /**
   * Compare what a stream sent with what arrived (numbers in the order the receiving
   * side holds them), counted per phase: lost (never arrived), duplicated (arrived more
   * than once) and reordered (arrived after a higher number of the same stream).
   */
  verdict(dir: Direction, portal: string, received: number[]): Row[] {
    const sent = this.sent.get(`${dir}:${portal}`) ?? [];
    const phaseOf = new Map(sent.map((s) => [s.n, s.phase]));
    const rows = new Map<string, Row>();
    const row = (phase: string) => {
      let r = rows.get(phase);
      if (!r) rows.set(phase, (r = { phase, dir, portal, sent: 0, received: 0, lost: 0, duplicated: 0, reordered: 0 }));
      return r;
    };
    for (const s of sent) row(s.phase).sent++;
    const seen = new Map<number, number>();
    let highest = 0;
    for (const n of received) {
      const phase = phaseOf.get(n) ?? 'unknown (never sent)';
      const times = (seen.get(n) ?? 0) + 1;
      seen.set(n, times);
      if (times > 1) row(phase).duplicated++;
      else row(phase).received++;
      if (n < highest && times === 1) row(phase).reordered++;
      highest = Math.max(highest, n);
    }
    for (const s of sent) if (!seen.has(s.n)) row(s.phase).lost++;
    return [...rows.values()];
  }
}

export interface Row {
  phase: string;
  dir: Direction;
  portal: string;
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  reordered: number;
}

/** Rows summed per (phase, direction), as a Markdown table. */
export function table(rows: Row[]): string {
  const sums = new Map<string, Row>();
  for (const r of rows) {
    const key = `${r.phase}|${r.dir}`;
    const s = sums.get(key) ?? { ...r, portal: '*', sent: 0, received: 0, lost: 0, duplicated: 0, reordered: 0 };
    s.sent += r.sent; s.received += r.received; s.lost += r.lost; s.duplicated += r.duplicated; s.reordered += r.reordered;
    sums.set(key, s);
  }
  const lines = ['| scenario | direction | sent | received | lost | duplicated | reordered |', '|---|---|---:|---:|---:|---:|---:|'];
  for (const s of sums.values()) lines.push(`| ${s.phase} | ${s.dir === 'm2r' ? 'Matrix → remote' : 'remote → Matrix'} | ${s.sent} | ${s.received} | ${s.lost} | ${s.duplicated} | ${s.reordered} |`);
  return lines.join('\n');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** As a careful client does: try again (the same request, so the same ids) until it is taken. */
export async function retrying(what: () => Promise<unknown>, pauseMs = 250): Promise<void> {
  for (;;) {
    try {
      await what();
      return;
    } catch {
      await sleep(pauseMs);
    }
  }
}

/** A Matrix user sending one stream's numbered messages round-robin over the portals' rooms, each retried with its transaction id. */
export interface MatrixSender {
  send(roomId: string, type: string, content: Record<string, unknown>, txnId: string): Promise<unknown>;
}

export async function matrixStream(opts: { streams: Streams; sender: MatrixSender; rooms: Map<string, string>; portals: string[]; phase: string; count: number; paceMs: number }): Promise<void> {
  for (let i = 0; i < opts.count; i++) {
    const portal = opts.portals[i % opts.portals.length]!;
    const n = opts.streams.take('m2r', portal, opts.phase);
    await retrying(() => opts.sender.send(opts.rooms.get(portal)!, 'm.room.message', { msgtype: 'm.text', body: marker('m2r', portal, n) }, `m2r-${portal}-${n}`));
    await sleep(opts.paceMs);
  }
}
