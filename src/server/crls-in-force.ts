/**
 * The CRLs the TLS contexts were built with, file by file, and the decision which bytes are in
 * force after the files were read again (a SIGHUP, or the CRL watcher seeing a file change). A file
 * whose bytes did not change keeps its CRLs without a new judgement; a changed file is judged
 * (pki/crl-acceptance.ts), and when refused its old CRLs stay in force.
 */
import { readFileSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import { crlFactsChecked, judgeCrlFile, olderThanRecorded, type JudgedCrlFacts, type RecordedCrlBaselines } from '../pki/crl-acceptance.js';
import { crlFileForEngines } from '../pki/crl-file.js';

export interface CrlFileInForce {
  bytes: Buffer;
  facts: JudgedCrlFacts[];
}

export type CrlsInForce = ReadonlyMap<string, CrlFileInForce>;

export interface CrlRefusal {
  path: string;
  reason: string;
  /** The same bytes may be accepted then (not valid yet). */
  retryAt?: Date;
}

export interface CrlPlan {
  /** What is in force if the plan is applied, for exactly the paths asked for. */
  files: Map<string, CrlFileInForce>;
  /** Paths whose new bytes were accepted. */
  accepted: string[];
  refused: CrlRefusal[];
  notes: { path: string; note: string }[];
}

export type ReadCrlFile = (path: string) => Buffer;

/**
 * Reads `paths` and decides, file by file, what is in force next. A refused file keeps the CRLs it
 * had in force; one that had none (new in the configuration) is left out of `files`. `recorded`:
 * the newest CRL held of each CA key (server/crl-baselines.ts), which no new CRL may fall behind.
 */
export async function planCrls(
  paths: readonly string[],
  inForce: CrlsInForce,
  cas: readonly X509Certificate[],
  now: Date,
  read: ReadCrlFile = readFileSync,
  recorded: RecordedCrlBaselines = new Map(),
): Promise<CrlPlan> {
  const plan: CrlPlan = { files: new Map(), accepted: [], refused: [], notes: [] };
  for (const path of paths) {
    const old = inForce.get(path);
    let bytes: Buffer;
    try {
      bytes = read(path);
    } catch (err) {
      plan.refused.push({ path, reason: `cannot read it: ${(err as Error).message}` });
      if (old) plan.files.set(path, old);
      continue;
    }
    if (old && old.bytes.equals(bytes)) {
      plan.files.set(path, old);
      continue;
    }
    const judged = await judgeCrlFile(bytes, cas, now, old?.facts, recorded);
    if (judged.ok) {
      plan.files.set(path, { bytes, facts: judged.facts });
      plan.accepted.push(path);
      for (const note of judged.notes) plan.notes.push({ path, note });
    } else {
      plan.refused.push({ path, reason: judged.reason, ...(judged.retryAt ? { retryAt: judged.retryAt } : {}) });
      if (old) plan.files.set(path, old);
    }
  }
  return plan;
}

/**
 * At start there is nothing to keep: every file that parses is loaded as it is, and what a reload
 * would refuse is returned as a warning (OpenSSL itself then refuses the certificates such a CRL
 * covers: an expired or badly signed CRL fails closed). A file that cannot be read or parsed is an
 * error, as it always was — and so is a CRL older than the newest one held of its CA before
 * (`recorded`, kept across restarts): OpenSSL would accept the certificates such a CRL no longer
 * lists, so loading it as it is would undo a revocation; there are no CRLs in force yet to keep.
 */
export async function initialCrls(
  paths: readonly string[],
  cas: readonly X509Certificate[],
  now: Date,
  read: ReadCrlFile = readFileSync,
  recorded: RecordedCrlBaselines = new Map(),
): Promise<{ files: Map<string, CrlFileInForce>; warnings: CrlRefusal[]; unreadable?: CrlRefusal; rolledBack?: CrlRefusal }> {
  const files = new Map<string, CrlFileInForce>();
  const warnings: CrlRefusal[] = [];
  for (const path of paths) {
    let bytes: Buffer;
    let facts: JudgedCrlFacts[];
    try {
      bytes = read(path);
      // Verified or not, CRL by CRL: a badly signed CRL loaded here must not become the baseline
      // the next genuine CRL is held against.
      facts = await crlFactsChecked(bytes, cas);
    } catch (err) {
      return { files, warnings, unreadable: { path, reason: `cannot read a CRL from ${path}: ${(err as Error).message}` } };
    }
    for (const f of facts) {
      const behind = olderThanRecorded(f, recorded);
      if (behind !== undefined) {
        return { files, warnings, rolledBack: { path, reason: `CRL of ${f.issuer} is older than the newest CRL of that CA held so far (${behind})` } };
      }
    }
    const judged = await judgeCrlFile(bytes, cas, now);
    if (!judged.ok) warnings.push({ path, reason: judged.reason });
    files.set(path, { bytes, facts });
  }
  return { files, warnings };
}

/** The CRLs of `paths`, in order, as the TLS contexts take them. */
export function crlBytes(paths: readonly string[], files: CrlsInForce): Buffer[] {
  return paths.flatMap((p) => {
    const f = files.get(p);
    return f ? crlFileForEngines(f.bytes) : [];
  });
}
