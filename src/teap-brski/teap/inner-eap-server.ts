import { randomOctet } from '../../util/random-octets.js';
import type { EapMethod, EapMethodSession, Grant, MethodContext, NasFacts, Step } from '../../eap-methods/method.js';
import { EapCode, EapType, decodeEap, encodeEap } from '../../eap-methods/eap-packet.js';
import { EapProtocolError } from '../../eap-methods/errors.js';
import type { Log } from '../../util/log.js';

/** Outcome of one inner EAP Response. */
export type InnerEapOutcome =
  | { kind: 'request'; eap: Uint8Array }
  | { kind: 'success'; method: EapMethod; identity: string; msk: Uint8Array; emsk?: Uint8Array; grant: Grant }
  /** The method ran and failed (wrong credentials, peer rejected the server...). */
  | { kind: 'failure'; method?: EapMethod; identity?: string; reason: string }
  /** No EAP method both sides accept (the peer Nak'd all we offered). */
  | { kind: 'refused'; reason: string };

export interface InnerEapContext {
  conversationId: string;
  nas: NasFacts;
  log: Log;
  /** Largest inner EAP packet a method may produce (it rides in a TLV inside TLS, not on the link). */
  maxEapPacket: number;
}

/** EAP Types that must never run inside TEAP (RFC 9930 §3.6.4: tunnelled methods). */
const FORBIDDEN_INNER_TYPES: ReadonlySet<number> = new Set([EapType.Ttls, EapType.Peap, EapType.Fast, EapType.Teap]);
/** Discarded Responses tolerated per inner method before giving up (each one re-sends our Request). */
const MAX_DISCARDS = 3;

/**
 * One inner EAP conversation inside the tunnel (RFC 9930 §3.6.1): our own EAP state machine, started
 * with EAP-Request/Identity and never finished with EAP-Success/Failure (Intermediate-Result does
 * that). Methods are ordinary `EapMethod` plugins; this class adds the EAP header, Identifiers,
 * Identity and Nak handling.
 */
export class InnerEapServer {
  private identifier = randomOctet();
  private lastRequest: Uint8Array | undefined;
  private identity: string | undefined;
  private method: EapMethod | undefined;
  private session: EapMethodSession | undefined;
  /** The peer answered the current method in kind (a Nak is then no longer allowed, RFC 3748 §2.1). */
  private answered = false;
  private readonly tried = new Set<number>();
  private discards = 0;

  constructor(
    private methods: readonly EapMethod[],
    private readonly ctx: InnerEapContext,
  ) {
    for (const m of methods) {
      if (FORBIDDEN_INNER_TYPES.has(m.type)) throw new Error(`EAP method ${m.name} (type ${m.type}) cannot run inside TEAP (RFC 9930 §3.6.4)`);
    }
    if (methods.length === 0) throw new Error('inner EAP needs at least one method');
  }

  /** EAP-Request/Identity that opens the inner conversation. */
  start(): Uint8Array {
    return this.request(EapType.Identity, new Uint8Array(0));
  }

  /**
   * Narrows the methods on offer before the peer's Identity Response has been processed: the peer
   * switched Identity-Type, and only the methods of that type's policy step may now run.
   */
  restrictMethods(methods: readonly EapMethod[]): void {
    if (this.identity !== undefined) throw new Error('inner EAP methods can only be restricted before the Identity Response');
    if (methods.length === 0) throw new Error('inner EAP needs at least one method');
    this.methods = methods;
  }

  get currentMethod(): EapMethod | undefined {
    return this.method;
  }

  async handle(eapBytes: Uint8Array): Promise<InnerEapOutcome> {
    let packet;
    try {
      packet = decodeEap(eapBytes);
    } catch (err) {
      if (err instanceof EapProtocolError) return this.discard(`malformed inner EAP packet: ${err.message}`);
      throw err;
    }
    if (packet.code !== EapCode.Response) return this.discard(`inner EAP Code ${packet.code} where a Response was due`);
    if (packet.identifier !== this.identifier) return this.discard(`inner EAP Identifier ${packet.identifier}, expected ${this.identifier}`);

    if (this.identity === undefined) {
      if (packet.type !== EapType.Identity) return this.discard(`inner EAP Type ${packet.type} where Identity was due`);
      this.identity = Buffer.from(packet.data).toString('utf8');
      return this.startMethod(this.methods[0]!);
    }
    if (packet.type === EapType.Nak && !this.answered) return this.onNak(packet.data);
    if (!this.method || packet.type !== this.method.type) return this.discard(`inner EAP Type ${packet.type} during ${this.method?.name ?? 'no method'}`);
    this.answered = true;
    return this.onStep(await this.session!.step(packet.data));
  }

  dispose(): void {
    this.session?.dispose();
    this.session = undefined;
  }

  private async startMethod(method: EapMethod): Promise<InnerEapOutcome> {
    this.session?.dispose();
    this.method = method;
    this.tried.add(method.type);
    this.answered = false;
    const ctx: MethodContext = {
      identity: this.identity!,
      conversationId: `${this.ctx.conversationId}/${method.name}`,
      maxEapPacket: this.ctx.maxEapPacket,
      nas: this.ctx.nas,
      log: this.ctx.log.child({ inner: method.name }),
    };
    this.session = method.createSession(ctx);
    return this.onStep(await this.session.start());
  }

  private async onNak(data: Uint8Array): Promise<InnerEapOutcome> {
    // RFC 3748 §5.3.1: one octet per acceptable type; 0 = none. Pick the peer's first choice we allow.
    for (const t of data) {
      if (t === 0) break;
      const m = this.methods.find((x) => x.type === t);
      if (m && !this.tried.has(t)) {
        this.ctx.log.debug({ offered: [...data], chosen: m.name }, 'inner EAP Nak: switching method');
        return this.startMethod(m);
      }
    }
    return { kind: 'refused', reason: `peer Nak'd inner EAP ${this.method?.name ?? ''}, offering only [${[...data].join(', ')}]` };
  }

  private onStep(step: Step): InnerEapOutcome {
    switch (step.kind) {
      case 'request':
        this.discards = 0;
        return { kind: 'request', eap: this.request(this.method!.type, step.data) };
      case 'success': {
        const out: InnerEapOutcome = { kind: 'success', method: this.method!, identity: this.identity!, msk: step.msk, grant: step.grant };
        if (step.emsk) out.emsk = step.emsk;
        return out;
      }
      case 'failure':
        return { kind: 'failure', method: this.method!, identity: this.identity!, reason: step.reason };
      case 'discard':
        return this.discard(step.reason);
    }
  }

  /**
   * Inside the tunnel nobody retransmits for us: a discarded Response is answered by re-sending the
   * outstanding Request (what the NAS would do on the link), a bounded number of times.
   */
  private discard(reason: string): InnerEapOutcome {
    this.discards++;
    this.ctx.log.debug({ reason }, 'inner EAP response discarded');
    if (this.discards > MAX_DISCARDS || !this.lastRequest) {
      return { kind: 'failure', ...(this.method ? { method: this.method } : {}), reason: `too many invalid inner EAP responses (last: ${reason})` };
    }
    return { kind: 'request', eap: this.lastRequest };
  }

  private request(type: number, data: Uint8Array): Uint8Array {
    this.identifier = (this.identifier + 1) & 0xff;
    this.lastRequest = encodeEap({ code: EapCode.Request, identifier: this.identifier, type, data });
    return this.lastRequest;
  }
}
