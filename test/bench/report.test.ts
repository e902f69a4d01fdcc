import { rssHalves } from '../../src/bench/report.js';

describe('rssHalves', () => {
  const at = (authentications: number, rssKb: number) => ({ authentications, seconds: authentications / 100, rssKb });
  test('growth before and after the middle sample; nothing to say with fewer than three', () => {
    expect(rssHalves([at(0, 100), at(5, 150), at(10, 151)])).toEqual({ first: 50, second: 1 });
    expect(rssHalves([at(0, 100), at(5, 150), at(10, 160), at(15, 161)])).toEqual({ first: 50, second: 11 });
    expect(rssHalves([at(0, 100), at(5, 150)])).toBeUndefined();
  });
});
