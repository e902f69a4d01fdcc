/**
 * @peculiar/x509, ready to use: it needs reflect-metadata loaded before it evaluates, and a
 * WebCrypto provider (node's). CA modules import the library from here so the order is right
 * whatever order their own imports are in.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
