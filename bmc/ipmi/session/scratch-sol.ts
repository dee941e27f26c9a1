// An in-memory Serial-over-LAN console for the console warm-up (core/console/warm-up.ts): the real BmcSession
// (sendPayload, onPayload: RMCP+ encode/encrypt/HMAC, verify/decrypt/decode, the sequence window) and the real
// SolConsole over a real IpmiTransport, whose socket is an in-memory object handing each datagram to a BMC side
// played here — the same codecs in reverse (decodeRmcpPlus, decodeSolPacket, encodeSolPacket, encodeRmcpPlus) with
// the same scratch keys. That BMC acknowledges every SOL packet and echoes its characters at once, like a tty with
// echo on; each datagram is delivered on a later event-loop turn (setImmediate), as a socket would.
// Contract: nothing reaches the network (no UDP socket is made), no real BMC or IpmiClient is touched (its
// transport, sessions and counters are separate); the keys are random, made for this console and dropped with it.
// IPMI commands (Deactivate Payload, Close Session on close) go unanswered; the scratch session's retry policy
// gives up on them at once, which the console's close treats as best effort, as with a BMC that went away.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:dgram';
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
import { IpmiTransport } from './transport.ts';

/** RFC 5737 TEST-NET-1: the scratch BMC's address (never routed; no datagram leaves the process anyway). */
export const SCRATCH_BMC = { host: '192.0.2.1', port: 623 } as const;
const RINFO = { address: SCRATCH_BMC.host, family: 'IPv4', port: SCRATCH_BMC.port, size: 0 };

export interface ScratchSolStats {
  /** datagrams the console side sent (SOL packets and unanswered commands) */
  toBmc: number;
  /** datagrams the BMC side sent */
  fromBmc: number;
  /** characters the BMC side took from SOL packets (and echoed) */
  typed: number;
  /** datagrams the BMC side refused (bad auth code, undecodable): 0 unless the path is broken */
  refused: number;
}

export interface ScratchSol {
  session: BmcSession;
  console: SolConsole;
  stats: ScratchSolStats;
  /** ends the in-memory transport (after the console and session were closed) */
  close(): Promise<void>;
}

/** A dgram.Socket as far as IpmiTransport uses it: send hands the datagram to the scratch BMC. */
class MemorySocket extends EventEmitter {
  constructor(private readonly deliver: (dgram: Buffer) => void) { super(); }
  send(data: Buffer, _port: number, _host: string, cb: (err: Error | null) => void): void { this.deliver(Buffer.from(data)); cb(null); }
  address(): { address: string; family: string; port: number } { return { address: '127.0.0.1', family: 'IPv4', port: 0 }; }
  close(cb?: () => void): void { cb?.(); }
}

/**
 * Makes an established scratch session with cipher suite `suite` (17 or 3) and a SOL console on it (the SolConsole
 * constructor, as activateSol makes it after Activate Payload; its first, empty packet is acknowledged like any).
 */
export async function scratchSol(suite: 17 | 3 = 17, opts: SolOptions = {}): Promise<ScratchSol> {
  const cs = CIPHER_SUITES[suite]!;
  const keys = deriveKeys(cs.hash!, randomBytes(cs.hash === 'sha256' ? 32 : 20));
  const security: PacketSecurity = { suite: cs, k1: keys.k1, aesKey: keys.aesKey };
  const consoleSessionId = randomInt(1, 0xffffffff);
  const managedSessionId = randomInt(1, 0xffffffff);
  const stats: ScratchSolStats = { toBmc: 0, fromBmc: 0, typed: 0, refused: 0 };
  let bmcSeq = 1; // RMCP+ session sequence number of the BMC side
  let bmcSolSeq = 0;
  let separate = false; // alternately: ack and echo in one packet, or an ack-only packet then the echo
  let socket: MemorySocket | null = null;

  const reply = (sol: Buffer): void => {
    const pkt = encodeRmcpPlus({ payloadType: PayloadType.Sol, sessionId: consoleSessionId, sequence: bmcSeq++, payload: sol }, security, packetIv());
    stats.fromBmc++;
    setImmediate(() => socket?.emit('message', pkt, RINFO));
  };
  const bmc = (dgram: Buffer): void => {
    stats.toBmc++;
    if (!isRmcpPlus(dgram)) return;
    let p;
    try { p = decodeRmcpPlus(dgram, security); } catch { stats.refused++; return; }
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
  };

  const log = pino({ level: 'silent' });
  const transport = new IpmiTransport(async () => {
    socket = new MemorySocket((d) => setImmediate(bmc, d));
    return socket as unknown as Socket;
  }, log);
  const session = new BmcSession(SCRATCH_BMC.host, { user: 'warm-up', password: '', port: SCRATCH_BMC.port }, {
    transport, policy: { timeoutMs: 1, retries: 0, backoff: 1 }, log, pool: new Limiter(1), hostLock: new Limiter(1), keepaliveMs: 0, channel: 1,
  }, new Limiter(1));
  session.establishWithScratchKeys({ security, consoleSessionId, managedSessionId });
  // as activateSol makes it from Activate Payload's answer (payload sizes 255, port 623)
  const sol = new SolConsole(session, { inboundSize: 255, outboundSize: 255, port: SCRATCH_BMC.port, vlan: 0xffff }, opts);
  return { session, console: sol, stats, close: () => transport.close() };
}
