/**
 * The credential policy's "no": thrown by an Authorize when a grant must not become an
 * Access-Accept although its method succeeded (a certificate the method could not know was revoked).
 * The bridge answers Access-Reject with the reason; any other error is a policy that could not be
 * applied, also refused (fail closed), but logged as an error.
 */
export class AccessRefusal extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'AccessRefusal';
  }
}
