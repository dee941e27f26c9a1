// A scratch Serial-over-LAN console for the daemon's console warm-up (daemon/console-warm-up.ts): the real
// BmcSession (sendPayload, onPayload: RMCP+ encode/encrypt/HMAC, verify/decrypt/decode, the sequence window) and the
// real SolConsole over a real IpmiTransport on a real UDP socket (the default socket factory, as IpmiClient's), talking
// to a BMC side played here on another UDP socket bound to 127.0.0.1 — the same codecs in reverse (decodeRmcpPlus,
// decodeSolPacket, encodeSolPacket, encodeRmcpPlus) with the same scratch keys. That BMC acknowledges every SOL packet
// and echoes its characters at once, like a tty with echo on.
// Why real sockets (issue 18, stop 25): datagrams from a real dgram socket are Buffers made in C++, with another
// hidden class than copies made in JavaScript; a warm-up fed such copies left code that the first real console
// deoptimised ("wrong map"). Over loopback UDP the warm-up's objects are the real ones.
// Contract: datagrams go only between the two loopback sockets (the BMC side is on 127.0.0.1 and answers only the
// console side's port; anything else is counted in `strangers` and dropped); no real BMC or IpmiClient is touched
// (its transport, sessions and counters are separate); the keys are random, made for this console and dropped with
// it; close() closes both sockets. IPMI commands (Deactivate Payload, Close Session on close) go unanswered; the
// scratch session's retry policy gives up on them at once, which the console's close treats as best effort, as with
// a BMC that went away.
import dgram from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import { pino } from 'pino';
import { CIPHER_SUITES } from '../cipher-suites.ts';
import { deriveKeys } from '../crypto.ts';
import { packetIv } from '../packet-iv.ts';
import { decodeRmcpPlus, encodeRmcpPlus, isRmcpPlus, PayloadType, type PacketSecurity } from '../rmcpplus.ts';
import { decodeSolPacket, encodeSolPacket, nextSolSeq } from '../sol.ts';
import { BmcSession } from './bmc-session.ts';
import { Limiter } from './limiter.ts';
import { SolConsole, type SolOptions } from './sol-session.ts';
import { defaultSocketFactory, IpmiTransport } from './transport.ts';

export interface ScratchSolStats {
  /** datagrams the console side sent (SOL packets and unanswered commands) */
  toBmc: number;
  /** datagrams the BMC side sent */
  fromBmc: number;
  /** characters the BMC side took from SOL packets (and echoed) */
  typed: number;
  /** datagrams the BMC side refused (bad auth code, undecodable): 0 unless the path is broken */
  refused: number;
  /** datagrams that reached the BMC side from another address or port than the console side's: dropped */
  strangers: number;
}

export interface ScratchSol {
  session: BmcSession;
  console: SolConsole;
  stats: ScratchSolStats;
  /** the BMC side's address (127.0.0.1 and its port) */
  bmc: { host: string; port: number };
  /** closes both sockets (after the console and session were closed) */
  close(): Promise<void>;
}

/**
 * Makes an established scratch session with cipher suite `suite` (17 or 3) and a SOL console on it (the SolConsole
 * constructor, as activateSol makes it after Activate Payload; its first, empty packet is acknowledged like any).
 */
export async function scratchSol(suite: 17 | 3 = 17, opts: SolOptions = {}): Promise<ScratchSol> {
  const cs = CIPHER_SUITES[suite]!;
  const keys = deriveKeys(cs.hash!, randomBytes(cs.hash === 'sha256' ? 32 : 20));
  const security: PacketSecurity = { suite: cs, k1: keys.k1, aesKey: keys.aesKey };
  // ids of 2^31 and up: not Smis, so the session's id fields (and the packets' sessionId) hold doubles from the
  // warm-up on; a real session's random id ≥ 2^31 would otherwise change their representation (a map deprecation)
  const consoleSessionId = randomInt(0x80000000, 0xffffffff);
  const managedSessionId = randomInt(0x80000000, 0xffffffff);
  const stats: ScratchSolStats = { toBmc: 0, fromBmc: 0, typed: 0, refused: 0, strangers: 0 };
  let bmcSeq = 1; // RMCP+ session sequence number of the BMC side
  let bmcSolSeq = 0;
  let separate = false; // alternately: ack and echo in one packet, or an ack-only packet then the echo
  let consolePort = 0; // the console side's UDP port, known once its transport made its socket (its first send)

  const bmcSocket = dgram.createSocket({ type: 'udp4' });
  await new Promise<void>((resolve, reject) => {
    bmcSocket.once('error', reject);
    bmcSocket.bind(0, '127.0.0.1', () => { bmcSocket.off('error', reject); resolve(); });
  });
  bmcSocket.on('error', () => undefined); // a send error on loopback: the keystroke's echo times out, which says it
  const bmcPort = bmcSocket.address().port;

  const reply = (sol: Buffer): void => {
    const pkt = encodeRmcpPlus({ payloadType: PayloadType.Sol, sessionId: consoleSessionId, sequence: bmcSeq++, payload: sol }, security, packetIv());
    stats.fromBmc++;
    bmcSocket.send(pkt, consolePort, '127.0.0.1');
  };
  bmcSocket.on('message', (datagram: Buffer, rinfo: dgram.RemoteInfo) => {
    if (consolePort === 0) consolePort = transport.localPort ?? 0;
    if (rinfo.address !== '127.0.0.1' || rinfo.port !== consolePort || consolePort === 0) { stats.strangers++; return; }
    stats.toBmc++;
    if (!isRmcpPlus(datagram)) return;
    let p;
    try { p = decodeRmcpPlus(datagram, security); } catch { stats.refused++; return; }
    if (p.payloadType !== PayloadType.Sol || p.sessionId !== managedSessionId) return; // commands: unanswered (module comment)
    let s;
    // a console → BMC packet has the same layout as a BMC → console one (sol.ts); only byte 3's bits differ
    try { s = decodeSolPacket(p.payload); } catch { stats.refused++; return; }
    if (s.seq === 0) return; // the console's ack of our echo
    stats.typed += s.data.length;
    if (s.data.length === 0) { reply(encodeSolPacket({ seq: 0, ackSeq: s.seq, accepted: 0 })); return; }
    separate = !separate;
    bmcSolSeq = nextSolSeq(bmcSolSeq);
    if (separate) {
      reply(encodeSolPacket({ seq: 0, ackSeq: s.seq, accepted: s.data.length }));
      reply(encodeSolPacket({ seq: bmcSolSeq, ackSeq: 0, accepted: 0, data: s.data }));
    } else {
      reply(encodeSolPacket({ seq: bmcSolSeq, ackSeq: s.seq, accepted: s.data.length, data: s.data }));
    }
  });

  const log = pino({ level: 'silent' });
  // the console side's socket as IpmiClient makes it (transport.ts), with the very same factory: a wrapper of it would
  // leave IpmiTransport.send optimised for another call target; the BMC side's filter reads the port when it is used
  const transport = new IpmiTransport(defaultSocketFactory, log);
  const session = new BmcSession('127.0.0.1', { user: 'warm-up', password: '', port: bmcPort }, {
    transport, policy: { timeoutMs: 1, retries: 0, backoff: 1 }, log, pool: new Limiter(1), hostLock: new Limiter(1), keepaliveMs: 0, channel: 1,
  }, new Limiter(1));
  session.establishWithScratchKeys({ security, consoleSessionId, managedSessionId });
  // as activateSol makes it from Activate Payload's answer (payload sizes 255; the SOL port is the BMC side's)
  const sol = new SolConsole(session, { inboundSize: 255, outboundSize: 255, port: bmcPort, vlan: 0xffff }, opts);
  return {
    session, console: sol, stats, bmc: { host: '127.0.0.1', port: bmcPort },
    close: async () => {
      await transport.close();
      await new Promise<void>((resolve) => bmcSocket.close(() => resolve()));
    },
  };
}
