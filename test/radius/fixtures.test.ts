import { readFileSync } from 'node:fs';
import { SHARED_VECTORS_PATH, VECTORS_PATH, sharedVectorsAvailable } from './fixtures.js';

describe('fixtures', () => {
  (sharedVectorsAvailable() ? test : test.skip)('the copied radius-vectors.json equals the shared spec file', () => {
    expect(JSON.parse(readFileSync(VECTORS_PATH, 'utf8'))).toEqual(JSON.parse(readFileSync(SHARED_VECTORS_PATH, 'utf8')));
  });
});
