import { AttributeType, attributeDataType, attributeName, attributeTypeByName, ErrorCause, MicrosoftAttributeType, VendorId } from '../../src/radius/dictionary.js';

describe('dictionary', () => {
  test('names and numbers both ways', () => {
    expect(attributeName(AttributeType.MessageAuthenticator)).toBe('Message-Authenticator');
    expect(attributeTypeByName('eap-key-name')).toBe(102);
    expect(attributeTypeByName('Tunnel-Private-Group-ID')).toBe(81);
    expect(attributeName(200)).toBeUndefined();
    for (const type of Object.values(AttributeType)) {
      expect(attributeTypeByName(attributeName(type)!)).toBe(type);
    }
  });
  test('data types', () => {
    expect(attributeDataType(AttributeType.FramedMtu)).toBe('integer');
    expect(attributeDataType(AttributeType.TunnelType)).toBe('tagged-integer');
    expect(attributeDataType(AttributeType.ExtendedType1)).toBe('extended');
    expect(attributeDataType(250)).toBe('octets');
  });
  test('numbers the spec fixes', () => {
    expect([AttributeType.State, AttributeType.Class, AttributeType.SessionTimeout, AttributeType.ProxyState, AttributeType.CalledStationId, AttributeType.CallingStationId]).toEqual([24, 25, 27, 33, 30, 31]);
    expect([AttributeType.ErrorCause, AttributeType.EapKeyName, AttributeType.EapMessage]).toEqual([101, 102, 79]);
    expect([VendorId.Microsoft, MicrosoftAttributeType.MsMppeSendKey, MicrosoftAttributeType.MsMppeRecvKey]).toEqual([311, 16, 17]);
    expect(ErrorCause.InvalidEapPacketIgnored).toBe(202);
  });
});
