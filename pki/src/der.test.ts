import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { children, oid, read, seq, smallInteger, time, tlv, unsignedInteger } from './der.ts';

const hex = (b: Buffer): string => b.toString('hex');

describe('DER encoding', () => {
  const cases: [string, () => Buffer, string][] = [
    [
      'encodes ecdsa-with-SHA256 as its well-known OID bytes',
      () => oid('1.2.840.10045.4.3.2'),
      '06082a8648ce3d040302',
    ],
    ['encodes the subjectAltName OID', () => oid('2.5.29.17'), '0603551d11'],
    ['encodes the serverAuth OID', () => oid('1.3.6.1.5.5.7.3.1'), '06082b06010505070301'],
    ['encodes version 3 as INTEGER 2', () => smallInteger(2), '020102'],
    [
      'adds a sign byte when the high bit is set',
      () => unsignedInteger(Buffer.from([0x80, 0x01])),
      '0203008001',
    ],
    ['strips leading zero bytes', () => unsignedInteger(Buffer.from([0, 0, 0x7f])), '02017f'],
    ['keeps a single zero', () => unsignedInteger(Buffer.from([0, 0])), '020100'],
    ['uses the long length form from 128 bytes', () => tlv(0x04, Buffer.alloc(200)).subarray(0, 3), '0481c8'],
    ['uses two length bytes from 256 bytes', () => tlv(0x04, Buffer.alloc(300)).subarray(0, 4), '0482012c'],
    ['encodes an empty SEQUENCE', () => seq(), '3000'],
    [
      'encodes 2049 as UTCTime',
      () => time(new Date('2049-12-31T23:59:59Z')),
      `170d${Buffer.from('491231235959Z').toString('hex')}`,
    ],
    [
      'encodes 2050 as GeneralizedTime',
      () => time(new Date('2050-01-01T00:00:00Z')),
      `180f${Buffer.from('20500101000000Z').toString('hex')}`,
    ],
  ];
  for (const [name, make, want] of cases) it(name, () => assert.equal(hex(make()), want));
});

describe('DER reading', () => {
  it('reads back nested structures', () => {
    const der = seq(oid('2.5.29.17'), seq(smallInteger(5)));
    const top = read(der);
    assert.equal(top.tag, 0x30);
    const [a, b] = children(top);
    assert.equal(hex(a!.raw), '0603551d11');
    assert.equal(children(b!)[0]!.content[0], 5);
  });
  it('refuses truncated input', () =>
    assert.throws(() => read(Buffer.from([0x30, 0x05, 0x01])), /truncated/));
  it('refuses indefinite lengths', () =>
    assert.throws(() => read(Buffer.from([0x30, 0x80, 0, 0])), /unsupported length/));
});
