import { startTestGangway } from '../helpers/gangway.js';

describe('method sections of gangway.yaml are checked at start-up, naming the key', () => {
  test.each([
    [{ teap: { policy: { clientCertificate: 'maybe' } } }, 'methods.teap.policy.clientCertificate'],
    [{ teap: { colour: 'blue' } }, 'methods.teap.colour'],
    [{ 'eap-noob': { oobUrl: 'ftp://example.org/noob' } }, 'methods.eap-noob.oobUrl'],
    [{ 'eap-noob': { oobUrl: 'https://example.org/noob', sleeptime: 5 } }, 'methods.eap-noob.sleeptime'],
    [{ 'eap-noob': 'yes' }, 'methods.eap-noob'],
    [{ tepa: {} }, 'methods.tepa'],
  ])('%j is refused naming %s', async (methods, key) => {
    await expect(startTestGangway({ configure: (doc) => { doc.methods = methods; } })).rejects.toMatchObject({ name: 'ConfigError', key });
  });

  test('EAP-NOOB is registered only when its section is present', async () => {
    const g = await startTestGangway({ configure: (doc) => { delete doc.methods; } });
    try {
      expect(g.log.lines.find((l) => l.msg === 'gangway listening')?.obj).toMatchObject({ methods: ['eap-tls', 'eap-mschapv2', 'teap'] });
    } finally {
      await g.close();
    }
  });
});
