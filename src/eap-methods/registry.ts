import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EapMethod } from './method.js';

/** Methods available to this server, by configuration name and by EAP Type. */
export class MethodRegistry {
  private byName = new Map<string, EapMethod>();
  private byType = new Map<number, EapMethod>();

  register(method: EapMethod): void {
    if (this.byName.has(method.name)) throw new Error(`EAP method "${method.name}" is registered twice`);
    if (this.byType.has(method.type)) throw new Error(`EAP type ${method.type} is registered twice`);
    this.byName.set(method.name, method);
    this.byType.set(method.type, method);
  }

  get(name: string): EapMethod | undefined {
    return this.byName.get(name);
  }

  getByType(type: number): EapMethod | undefined {
    return this.byType.get(type);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /**
   * Takes over another registry's methods at once (configuration reload). Conversations already
   * running keep the method instance they started with; new ones get the new methods.
   */
  replaceWith(next: MethodRegistry): void {
    this.byName = next.byName;
    this.byType = next.byType;
  }
}

/**
 * What a plugin module exports: `createMethod(options)` returning the method. Options are the
 * plugin's own section of the configuration, passed through untouched.
 */
export interface MethodPluginModule {
  createMethod(options: Record<string, unknown>): EapMethod | Promise<EapMethod>;
}

/**
 * The built-in methods' names, which no plugin may take, even where the built-in method is switched
 * off: the credential policy gives these names' grants their meaning (an eap-noob grant's owner and
 * PeerInfo, the certificate of an eap-tls or teap grant, TEAP's manufacturer, authorization.methods).
 */
export const BUILT_IN_METHOD_NAMES: readonly string[] = ['eap-tls', 'eap-mschapv2', 'teap', 'eap-noob'];

export async function loadMethodPlugin(modulePath: string, options: Record<string, unknown>, baseDir: string): Promise<EapMethod> {
  const path = isAbsolute(modulePath) || modulePath.startsWith('.') ? resolve(baseDir, modulePath) : modulePath;
  const specifier = isAbsolute(path) ? pathToFileURL(path).href : path;
  const mod = (await import(specifier)) as Partial<MethodPluginModule>;
  if (typeof mod.createMethod !== 'function') throw new Error(`plugin ${modulePath} does not export createMethod(options)`);
  const method = await mod.createMethod(options);
  if (typeof method?.type !== 'number' || typeof method.name !== 'string' || typeof method.createSession !== 'function') {
    throw new Error(`plugin ${modulePath} returned something that is not an EAP method`);
  }
  if (BUILT_IN_METHOD_NAMES.includes(method.name)) {
    throw new Error(`plugin ${modulePath} names its method "${method.name}", the name of a built-in method (${BUILT_IN_METHOD_NAMES.join(', ')})`);
  }
  return method;
}
