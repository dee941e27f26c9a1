// TFTP codec: round trips for every packet kind, typed decode errors with offsets, option parsing, netascii.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeTftpPacket, encodeTftpPacket, encodingLength, encodeDataHeader, packetToString, TftpDecodeError,
  errorCodeToString, opcodeToString, parseRequestOptions, formatAcceptedOptions, encodeNetascii, type TftpPacket,
} from '../../netboot/tftp/index.ts';

const samples: TftpPacket[] = [
  { op: 'RRQ', filename: 'undionly.kpxe', mode: 'octet', options: [] },
  { op: 'RRQ', filename: 'pxelinux.cfg/01-52-54-00-12-34-56', mode: 'octet', options: [{ name: 'blksize', value: '1468' }, { name: 'tsize', value: '0' }, { name: 'windowsize', value: '4' }] },
  { op: 'WRQ', filename: 'x', mode: 'netascii', options: [{ name: 'X-Unknown', value: 'abc' }] },
  { op: 'DATA', block: 65535, data: Buffer.from('hello') },
  { op: 'DATA', block: 0, data: Buffer.alloc(0) },
  { op: 'ACK', block: 4242 },
  { op: 'ERROR', code: 1, message: 'File not found' },
  { op: 'ERROR', code: 8, message: '' },
  { op: 'OACK', options: [{ name: 'blksize', value: '1468' }, { name: 'tsize', value: '74213' }] },
  { op: 'OACK', options: [] },
];

test('every packet kind round-trips: decode(encode(p)) = p, stable re-encoding, exact encodingLength', () => {
  for (const p of samples) {
    const bytes = encodeTftpPacket(p);
    assert.equal(bytes.length, encodingLength(p), packetToString(p));
    const back = decodeTftpPacket(bytes);
    assert.deepEqual(back, p);
    assert.deepEqual(encodeTftpPacket(back), bytes);
  }
});

test('RRQ wire bytes follow RFC 1350 §5 / RFC 2347 §2 layout', () => {
  const bytes = encodeTftpPacket({ op: 'RRQ', filename: 'a.bin', mode: 'octet', options: [{ name: 'blksize', value: '1468' }] });
  assert.equal(bytes.toString('latin1'), '\x00\x01a.bin\x00octet\x00blksize\x001468\x00');
  assert.deepEqual(encodeDataHeader(65536 + 7), Buffer.from([0, 3, 0, 7]));
});

test('names print themselves', () => {
  assert.equal(opcodeToString(6), 'OACK');
  assert.equal(opcodeToString(9), '<unknown TFTP opcode 9>');
  assert.equal(errorCodeToString(1), 'File not found (1)');
  assert.equal(errorCodeToString(8), 'Option negotiation failed (8)');
  assert.equal(errorCodeToString(42), '<unknown TFTP error 42>');
  assert.equal(packetToString(samples[1]), 'RRQ "pxelinux.cfg/01-52-54-00-12-34-56" octet blksize=1468 tsize=0 windowsize=4');
});

function decodeError(bytes: number[] | Buffer): TftpDecodeError {
  try {
    decodeTftpPacket(Buffer.from(bytes));
  } catch (err) {
    assert.ok(err instanceof TftpDecodeError, `expected TftpDecodeError, got ${String(err)}`);
    return err;
  }
  assert.fail('decoded without error');
}

test('malformed packets throw TftpDecodeError naming the offset', () => {
  assert.equal(decodeError([]).offset, 0);
  assert.equal(decodeError([0]).offset, 0);
  assert.match(decodeError([0, 9]).message, /unknown opcode <unknown TFTP opcode 9>/);
  assert.equal(decodeError([0, 1, 0x61, 0x62]).offset, 2); // filename not terminated
  assert.equal(decodeError([0, 1, 0]).offset, 2); // empty filename
  assert.equal(decodeError([0, 1, 0x61, 0, 0x6f]).offset, 4); // mode not terminated
  const noValue = decodeError(Buffer.from('\x00\x01a\x00octet\x00blksize\x00', 'latin1'));
  assert.equal(noValue.offset, 18); // 2 opcode + "a\0" + "octet\0" + "blksize\0"
  assert.match(noValue.reason, /option "blksize" has no value/);
  assert.equal(decodeError([0, 4, 0]).offset, 2); // truncated ACK
  assert.equal(decodeError([0, 4, 0, 1, 9]).offset, 4); // trailing byte after ACK
  assert.equal(decodeError([0, 3]).offset, 2); // DATA without block number
  assert.equal(decodeError(Buffer.concat([Buffer.from([0, 3, 0, 1]), Buffer.alloc(65465)])).offset, 4);
});

test('ERROR without the terminating NUL is accepted (seen from real clients)', () => {
  assert.deepEqual(decodeTftpPacket(Buffer.from('\x00\x05\x00\x08abort', 'latin1')), { op: 'ERROR', code: 8, message: 'abort' });
});

test('encode refuses values the wire cannot carry', () => {
  assert.throws(() => encodeTftpPacket({ op: 'ACK', block: 65536 }), RangeError);
  assert.throws(() => encodeTftpPacket({ op: 'RRQ', filename: 'a\0b', mode: 'octet', options: [] }), RangeError);
});

test('request options: case-insensitive, ranges of RFC 2348/2349/7440, first occurrence wins, rest ignored', () => {
  const o = parseRequestOptions([
    { name: 'BLKSIZE', value: '1468' }, { name: 'blksize', value: '512' }, { name: 'tsize', value: '0' },
    { name: 'timeout', value: '0' }, { name: 'windowsize', value: '65536' }, { name: 'multicast', value: '' },
  ]);
  assert.equal(o.blksize, 1468);
  assert.equal(o.tsize, 0);
  assert.equal(o.timeout, undefined);
  assert.equal(o.windowsize, undefined);
  assert.deepEqual(o.ignored.map((x) => x.name), ['blksize', 'timeout', 'windowsize', 'multicast']);
  assert.equal(parseRequestOptions([{ name: 'blksize', value: '7' }]).blksize, undefined);
  assert.equal(parseRequestOptions([{ name: 'blksize', value: '65464' }]).blksize, 65464);
  assert.equal(parseRequestOptions([{ name: 'blksize', value: '65465' }]).blksize, undefined);
  assert.equal(parseRequestOptions([{ name: 'blksize', value: '1e3' }]).blksize, undefined);
  assert.equal(parseRequestOptions([{ name: 'windowsize', value: '1' }]).windowsize, 1);
  assert.equal(parseRequestOptions([{ name: 'timeout', value: '255' }]).timeout, 255);
  assert.deepEqual(formatAcceptedOptions({ windowsize: 4, tsize: 10, blksize: 1468 }), [
    { name: 'blksize', value: '1468' }, { name: 'tsize', value: '10' }, { name: 'windowsize', value: '4' },
  ]);
});

test('netascii: LF → CR LF, CR → CR NUL, other bytes unchanged', () => {
  assert.deepEqual(encodeNetascii(Buffer.from('a\nb\rc')), Buffer.from('a\r\nb\r\0c', 'latin1'));
  const plain = Buffer.from('no line ends');
  assert.equal(encodeNetascii(plain), plain);
});
