/**
 * Which methods an identity may use, from configuration. The first method of the matching rule is
 * proposed; a Nak may pick any other method of the same rule.
 */
export interface MethodRule {
  /** Realm suffix after '@' (case-insensitive), e.g. "eap-noob.arpa". */
  realm?: string;
  /** Regular expression over the whole identity. */
  identity?: string;
  methods: string[];
}

export interface CompiledRule {
  realm?: string;
  identity?: RegExp;
  methods: string[];
}

export class MethodSelector {
  private rules: CompiledRule[];

  constructor(rules: MethodRule[], private defaults: string[]) {
    this.rules = rules.map((r) => ({
      ...(r.realm !== undefined ? { realm: r.realm.toLowerCase() } : {}),
      ...(r.identity !== undefined ? { identity: new RegExp(r.identity) } : {}),
      methods: r.methods,
    }));
  }

  /** Methods allowed for this identity, in order of preference. */
  methodsFor(identity: string): string[] {
    const at = identity.lastIndexOf('@');
    const realm = at >= 0 ? identity.slice(at + 1).toLowerCase() : '';
    for (const rule of this.rules) {
      if (rule.realm !== undefined && rule.realm !== realm) continue;
      if (rule.identity !== undefined && !rule.identity.test(identity)) continue;
      return rule.methods;
    }
    return this.defaults;
  }

  /** Takes over another selector's rules at once (configuration reload). */
  replaceWith(next: MethodSelector): void {
    this.rules = next.rules;
    this.defaults = next.defaults;
  }
}
