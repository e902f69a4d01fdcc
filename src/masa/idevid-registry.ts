/**
 * The IDevIDs this manufacturer issued, by serial-number: `idevids.jsonl` in the data directory.
 * It is both the issuance log ("every issued IDevID is logged") and what the MASA looks a
 * voucher-request's serial-number up in (RFC 8995 §5.5: a device the MASA does not know gets 404).
 */
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { JsonLinesFile, stringField } from './json-lines.js';

export interface IssuedIdevid {
  /** The subject serialNumber (X520SerialNumber), which voucher-requests carry as serial-number. */
  serialNumber: string;
  /** Certificate serial, hex. */
  certificateSerial: string;
  subject: string;
  issuedAt: string;
  masaUrl: string;
  /** DER, base64. */
  certificate: string;
}

function readIssued(v: unknown): IssuedIdevid | undefined {
  const serialNumber = stringField(v, 'serialNumber');
  const certificateSerial = stringField(v, 'certificateSerial');
  const subject = stringField(v, 'subject');
  const issuedAt = stringField(v, 'issuedAt');
  const masaUrl = stringField(v, 'masaUrl');
  const certificate = stringField(v, 'certificate');
  if (!serialNumber || !certificateSerial || subject === undefined || !issuedAt || !masaUrl || !certificate) return undefined;
  return { serialNumber, certificateSerial, subject, issuedAt, masaUrl, certificate };
}

export class IdevidRegistry {
  private readonly file: JsonLinesFile<IssuedIdevid>;

  constructor(
    path: string,
    private readonly lockPath = `${path}.lock`,
  ) {
    this.file = new JsonLinesFile(path, readIssued);
  }

  /** The IDevID issued for `serialNumber`, as DER, or undefined when we never issued one. */
  find(serialNumber: string): { record: IssuedIdevid; der: Uint8Array } | undefined {
    // The last record wins; the issuer refuses duplicates, so there is normally one.
    const records = this.file.records();
    for (let i = records.length - 1; i >= 0; i--) {
      const r = records[i] as IssuedIdevid;
      if (r.serialNumber === serialNumber) return { record: r, der: new Uint8Array(Buffer.from(r.certificate, 'base64')) };
    }
    return undefined;
  }

  all(): readonly IssuedIdevid[] {
    return this.file.records();
  }

  /**
   * Runs `issue` and records its result while holding an exclusive lock file, so that two
   * concurrent `issue-idevid` runs cannot both issue the same serial.
   */
  async issueOnce(serialNumber: string, issue: () => Promise<IssuedIdevid>): Promise<IssuedIdevid> {
    let fd: number;
    try {
      fd = openSync(this.lockPath, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new Error(`${this.lockPath} exists: another issue-idevid is running (remove the file if none is)`);
      }
      throw err;
    }
    try {
      if (this.find(serialNumber)) throw new Error(`an IDevID for serial-number "${serialNumber}" was already issued`);
      const issued = await issue();
      this.file.append(issued);
      return issued;
    } finally {
      closeSync(fd);
      unlinkSync(this.lockPath);
    }
  }
}
