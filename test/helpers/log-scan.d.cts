/** Types of log-scan.cjs, for the tests that exercise the scan. */
export interface LogScanFinding {
  rule: 'PEM private key' | 'secret field' | 'private JWK' | 'test secret';
  what: string;
}
export interface CapturedFinding extends LogScanFinding {
  file: string;
  lineNumber: number;
  time: number | undefined;
  line: string;
}
export declare const SECRET_FIELDS: ReadonlySet<string>;
export declare function scanLine(line: string, literals: ReadonlyMap<string, string>): LogScanFinding[];
export declare function scanCapture(dir: string, literals: ReadonlyMap<string, string>): { files: number; lines: number; octets: number; findings: CapturedFinding[] };
export declare function collectLiterals(rootDir: string): Map<string, string>;
export declare function literalForms(literals: ReadonlyMap<string, string>): Map<string, string>;
export declare function parseRegistry(text: string): [string, string][];
