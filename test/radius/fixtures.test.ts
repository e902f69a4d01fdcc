import { readFileSync } from 'node:fs';
import { SHARED_VECTORS_PATH, VECTORS_PATH, sharedVectorsAvailable } from './fixtures.js';
import { noteSkip } from '../helpers/require-tool.js';

if (!sharedVectorsAvailable()) noteSkip('../shared/specs/radius-vectors.json', `not found at ${SHARED_VECTORS_PATH}; the fixture copy is not compared with it`);

describe('fixtures', () => {
  (sharedVectorsAvailable() ? test : test.skip)('the copied radius-vectors.json equals the shared spec file', () => {
    expect(JSON.parse(readFileSync(VECTORS_PATH, 'utf8'))).toEqual(JSON.parse(readFileSync(SHARED_VECTORS_PATH, 'utf8')));
  });
});
