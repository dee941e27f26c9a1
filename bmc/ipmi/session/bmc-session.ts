// One RMCP+ session with one BMC (IPMI 2.0 §13.15–13.24): negotiate a cipher suite (17, then 3), RAKP 1–4,
// Set Session Privilege, then commands one at a time, a keepalive while idle, and Close Session.
//
// State machine: idle → opening → established → closing → closed   (any step may end in `failed`).
// Sequence numbers: ours start at 1 and grow by one per datagram, retransmissions included; the BMC's must
// be non-zero, unseen and no more than 32 behind the highest seen (a sliding window, §6.12.13).
import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import {
  CIPHER_SUITES, insecureReason, type CipherSuite,
} from '../cipher-suites.ts';
import {
  decodeOpenSessionResponse, decodeRakp2, decodeRakp4, encodeOpenSessionRequest, encodeRakp1, encodeRakp3,
  Privilege, privilegeName, RmcpStatus, rmcpStatusName,
} from '../open-session.ts';
import { packetIv } from '../packet-iv.ts';
import { decodeRmcpPlus, encodeRmcpPlus, isRmcpPlus, PayloadType, type PacketSecurity } from '../rmcpplus.ts';
import { deriveKeys, rakp2AuthCode, rakp3AuthCode, rakp4Icv, sameCode, sessionIntegrityKey, type RakpContext } from '../crypto.ts';
import { decodeIpmiResponse, encodeIpmiRequest } from '../ipmi-message.ts';
import { completionCodeName, CC_INSUFFICIENT_PRIVILEGE, CC_NODE_BUSY } from '../completion-codes.ts';
import {
  closeSessionRequest, decodeChannelInfo, decodeDeviceId, getChannelInfoRequest, decodeSetSessionPrivilege, decodeSystemGuid, getDeviceIdRequest,
  getSystemGuidRequest, setSessionPrivilegeRequest, type CommandRequest, type DeviceId,
} from '../app-commands.ts';
import {
  chassisControlRequest, decodeBootFlags, decodeChassisStatus, getBootOptionsRequest, getChassisStatusRequest,
  setBootFlagsRequest, type BootDevice, type BootFlags, type ChassisStatus, type PowerAction,
} from '../chassis-commands.ts';
import { decodeLanConfig, formatIp, formatMac, getLanConfigRequest, LanParam } from '../lan-config.ts';
import { exchange, type RetryPolicy } from './exchange.ts';
import type { IpmiTransport } from './transport.ts';
import type { Limiter } from './limiter.ts';
import {
  BmcBusyError, BmcError, BmcProtocolError, InsecureCipherSuiteError, IpmiCommandError, NoCommonCipherSuiteError,
  PrivilegeTooLowError, SessionClosedError, UnknownUserError, WrongPasswordError,
} from './errors.ts';

export interface SessionOptions {
  user: string;
  password: string;
  port?: number;
  /** 17 or 3 pins the suite; undefined = negotiate (17, then 3) */
  cipher?: number;
  /** allow suites without authentication/integrity/encryption (suite 0) — lab use only */
  allowInsecure?: boolean;
  /** requested privilege; default Administrator */
  privilege?: Privilege;
  /** BMC key Kg; default none (Kuid is used) */
  kg?: Buffer | null;
  /**
   * true: send Set Session Privilege right after RAKP, as ipmitool and pyghmi do. false (default): skip it —
   * RMCP+ sessions come up at the role requested in RAKP 1 on most BMCs — and send it only when a command is
   * refused with 0xD4, then retry that command once (one round trip less per session).
   */
  setPrivilegeAtOpen?: boolean;
}

export type SessionState = 'idle' | 'opening' | 'established' | 'closing' | 'closed' | 'failed';

export interface LanConfig { ip: string; mac: string; channel: number }

export interface SessionDeps {
  transport: IpmiTransport;
  policy: RetryPolicy;
  log: Logger;
  /** global pool of in-flight exchanges */
  pool: Limiter;
  /** per-BMC lock: 1 exchange in flight to this host */
  hostLock: Limiter;
  keepaliveMs: number;
  /** LAN channel learned from a session-less Get Channel Auth Capabilities; null = ask inside the session when needed */
  channel: number | null;
}

const NEGOTIATE: readonly number[] = [17, 3];
const SUITE_REJECTED = new Set<number>([
  RmcpStatus.InvalidAuthenticationAlgorithm, RmcpStatus.InvalidIntegrityAlgorithm,
  RmcpStatus.NoMatchingAuthenticationPayload, RmcpStatus.NoMatchingIntegrityPayload,
  RmcpStatus.InvalidConfidentialityAlgorithm, RmcpStatus.NoCipherSuiteMatch,
]);
const BUSY = new Set<number>([RmcpStatus.InsufficientResources, RmcpStatus.InsufficientResourcesForRole]);
const ROLE = new Set<number>([RmcpStatus.InvalidRole, RmcpStatus.UnauthorizedRoleOrPrivilege]);

export class BmcSession {
  state: SessionState = 'idle';
  /** the suite in use once established */
  suite: CipherSuite | null = null;
  readonly port: number;
  private readonly user: Buffer;
  private readonly password: Buffer;
  private consoleSessionId = 0;
  private managedSessionId = 0;
  private security: PacketSecurity | null = null;
  private outSeq = 1;
  private rqSeq = 1;
  private tag = 0;
  private highestIn = 0;
  private readonly seenIn = new Set<number>();
  private readonly queue: Limiter;
  private keepalive: NodeJS.Timeout | null = null;
  private lastActivity = Date.now();
  private readonly log: Logger;

  constructor(readonly host: string, private readonly opts: SessionOptions, private readonly deps: SessionDeps, queue: Limiter) {
    this.port = opts.port ?? 623;
    this.user = Buffer.from(opts.user, 'utf8');
    this.password = Buffer.from(opts.password, 'utf8');
    if (this.user.length > 16) throw new BmcProtocolError(host, 'IPMI user names are at most 16 bytes');
    if (this.password.length > 20) throw new BmcProtocolError(host, 'IPMI 2.0 passwords are at most 20 bytes');
    this.queue = queue;
    this.log = deps.log.child({ bmc: host });
  }

  /**
   * Makes this idle session `established` on keys agreed elsewhere, without a packet: only for the daemon's console
   * warm-up (scratch-sol.ts: a loopback BMC side), which holds the same scratch keys. Never for a real BMC (no RAKP, no keepalive).
   */
  establishWithScratchKeys(k: { security: PacketSecurity; consoleSessionId: number; managedSessionId: number }): void {
    if (this.state !== 'idle') throw new BmcProtocolError(this.host, `cannot establish a scratch session in state ${this.state}`);
    this.suite = k.security.suite;
    this.security = k.security;
    this.consoleSessionId = k.consoleSessionId;
    this.managedSessionId = k.managedSessionId;
    this.outSeq = 1;
    this.state = 'established';
  }

  /** Opens the session (cipher negotiation, RAKP, privilege). Rejects with a BmcError subclass. */
  async open(): Promise<void> {
    if (this.state !== 'idle') throw new BmcProtocolError(this.host, `cannot open a session in state ${this.state}`);
    this.state = 'opening';
    try {
      const candidates = this.candidates();
      const tried: number[] = [];
      let lastReason = '';
      for (const id of candidates) {
        tried.push(id);
        const suite = CIPHER_SUITES[id];
        const outcome = await this.openWith(suite);
        if (outcome === 'established') {
          this.suite = suite;
          break;
        }
        lastReason = outcome;
        const next = candidates[candidates.indexOf(id) + 1];
        if (next !== undefined) this.log.info({ refused: id, next, reason: outcome }, `BMC refused cipher suite ${id} (${outcome}); falling back to suite ${next}`);
      }
      if (!this.suite) throw new NoCommonCipherSuiteError(this.host, tried, lastReason);
      this.state = 'established';
      if (this.opts.setPrivilegeAtOpen ?? false) await this.elevate();
      this.log.debug({ suite: this.suite.id }, 'IPMI session established');
      this.startKeepalive();
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  private candidates(): number[] {
    const c = this.opts.cipher;
    if (c === undefined) return [...NEGOTIATE];
    const why = insecureReason(c);
    if (why && !(this.opts.allowInsecure && CIPHER_SUITES[c])) throw new InsecureCipherSuiteError(this.host, c, why);
    return [c];
  }

  /** Open Session + RAKP 1–4 with one suite. Returns 'established' or why the BMC refused the suite. */
  private async openWith(suite: CipherSuite): Promise<string> {
    const priv = this.opts.privilege ?? Privilege.Administrator;
    this.consoleSessionId = randomInt(1, 0xffffffff);
    const tag = this.nextTag();
    const osr = await this.setup('Open Session', PayloadType.OpenSessionRequest,
      encodeOpenSessionRequest({ tag, maxPrivilege: priv, consoleSessionId: this.consoleSessionId, suite }),
      PayloadType.OpenSessionResponse, (p) => {
        const r = decodeOpenSessionResponse(p);
        return r.tag === tag && (r.consoleSessionId === this.consoleSessionId || r.status !== 0) ? r : undefined;
      });
    if (osr.status !== 0) {
      if (SUITE_REJECTED.has(osr.status)) return `Open Session status ${rmcpStatusName(osr.status)}`;
      throw this.statusError('Open Session', osr.status);
    }
    if (osr.auth !== suite.auth || osr.integrity !== suite.integrity || osr.confidentiality !== suite.confidentiality) {
      return `the BMC answered with other algorithms (auth ${osr.auth}, integrity ${osr.integrity}, confidentiality ${osr.confidentiality})`;
    }
    this.managedSessionId = osr.managedSessionId;

    const consoleRandom = randomBytes(16);
    const role = 0x10 | priv; // name-only lookup
    const tag1 = this.nextTag();
    const r2 = await this.setup('RAKP 1', PayloadType.Rakp1,
      encodeRakp1({ tag: tag1, managedSessionId: this.managedSessionId, consoleRandom, role, username: this.user }),
      PayloadType.Rakp2, (p) => {
        const r = decodeRakp2(p);
        return r.tag === tag1 && (r.status !== 0 || r.consoleSessionId === this.consoleSessionId) ? r : undefined;
      });
    if (r2.status !== 0) throw this.statusError('RAKP 2', r2.status);
    const ctx: RakpContext = {
      suite, password: this.password, kg: this.opts.kg ?? null,
      consoleSessionId: this.consoleSessionId, managedSessionId: this.managedSessionId,
      consoleRandom, bmcRandom: r2.bmcRandom, bmcGuid: r2.bmcGuid, role, username: this.user,
    };
    let sik: Buffer = Buffer.alloc(0);
    if (suite.hash) {
      if (!sameCode(r2.authCode.subarray(0, suite.authCodeLength), rakp2AuthCode(ctx)) || r2.authCode.length < suite.authCodeLength) {
        throw new WrongPasswordError(this.host, this.opts.user);
      }
      sik = sessionIntegrityKey(ctx);
    }
    const tag3 = this.nextTag();
    const r4 = await this.setup('RAKP 3', PayloadType.Rakp3,
      encodeRakp3({ tag: tag3, status: 0, managedSessionId: this.managedSessionId, authCode: suite.hash ? rakp3AuthCode(ctx) : Buffer.alloc(0) }),
      PayloadType.Rakp4, (p) => {
        const r = decodeRakp4(p);
        return r.tag === tag3 && (r.status !== 0 || r.consoleSessionId === this.consoleSessionId) ? r : undefined;
      });
    if (r4.status !== 0) throw this.statusError('RAKP 4', r4.status);
    if (suite.hash) {
      if (!sameCode(r4.icv.subarray(0, suite.icvLength), rakp4Icv(ctx, sik)) || r4.icv.length < suite.icvLength) {
        throw new BmcProtocolError(this.host, 'RAKP 4 integrity check value is wrong (a BMC key Kg is configured, or the reply was forged)');
      }
      const keys = deriveKeys(suite.hash, sik);
      this.security = { suite, k1: keys.k1, aesKey: keys.aesKey };
    } else {
      this.security = { suite, k1: Buffer.alloc(0), aesKey: Buffer.alloc(0) };
    }
    this.outSeq = 1;
    return 'established';
  }

  private statusError(step: string, status: number): BmcError {
    if (status === RmcpStatus.UnauthorizedName || status === RmcpStatus.InvalidNameLength) return new UnknownUserError(this.host, this.opts.user);
    if (status === RmcpStatus.InvalidIntegrityCheckValue) return new WrongPasswordError(this.host, this.opts.user);
    if (ROLE.has(status)) return new PrivilegeTooLowError(this.host, `${step}: the BMC refused role ${privilegeName(this.opts.privilege ?? Privilege.Administrator)} (${rmcpStatusName(status)})`);
    if (BUSY.has(status)) return new BmcBusyError(this.host, `${step}: ${rmcpStatusName(status)}`);
    return new BmcProtocolError(this.host, `${step} failed: ${rmcpStatusName(status)}`);
  }

  private nextTag(): number { this.tag = (this.tag + 1) & 0xff; return this.tag; }

  /** A session-setup exchange: unauthenticated RMCP+ payloads with session id 0. */
  private setup<T>(what: string, type: PayloadType, payload: Buffer, replyType: PayloadType, match: (p: Buffer) => T | undefined): Promise<T> {
    const pkt = encodeRmcpPlus({ payloadType: type, sessionId: 0, sequence: 0, payload }, null);
    return this.exchangeLocked(what, () => pkt, (msg) => {
      if (!isRmcpPlus(msg)) return undefined;
      const p = decodeRmcpPlus(msg, null);
      if (p.payloadType !== replyType || p.sessionId !== 0 && p.sessionId !== this.consoleSessionId) return undefined;
      return match(p.payload);
    });
  }

  private exchangeLocked<T>(what: string, build: (attempt: number) => Buffer, match: (msg: Buffer) => T | undefined): Promise<T> {
    const { transport, policy, pool, hostLock } = this.deps;
    return hostLock.run(() => pool.run(() => exchange({ transport, host: this.host, port: this.port, what, policy, log: this.log, build, match })));
  }

  /** Checks the BMC's sequence number window; records it when accepted. */
  private acceptSeq(seq: number): boolean {
    if (seq === 0 || this.seenIn.has(seq)) return false;
    if (this.highestIn !== 0 && seq + 32 < this.highestIn) return false;
    this.seenIn.add(seq);
    if (this.seenIn.size > 64) this.seenIn.delete(this.seenIn.values().next().value as number);
    if (seq > this.highestIn) this.highestIn = seq;
    return true;
  }

  /**
   * Sends one IPMI command in the session and returns the response data (after the completion code).
   * One command at a time per session; a non-zero completion code becomes a typed error.
   */
  async command(what: string, req: CommandRequest, o: { privilegeCodes?: boolean; noElevate?: boolean } = {}): Promise<Buffer> {
    try {
      return await this.commandOnce(what, req, o);
    } catch (err) {
      if (!(err instanceof PrivilegeTooLowError) || this.elevated || o.noElevate) throw err;
      await this.elevate();
      return this.commandOnce(what, req, o);
    }
  }

  private commandOnce(what: string, req: CommandRequest, o: { privilegeCodes?: boolean }): Promise<Buffer> {
    return this.queue.run(async () => {
      if (this.state !== 'established' && this.state !== 'closing') throw new SessionClosedError(this.host);
      const sec = this.security!;
      const rqSeq = this.rqSeq;
      this.rqSeq = (this.rqSeq + 1) & 0x3f || 1;
      const msg = encodeIpmiRequest({ netFn: req.netFn, cmd: req.cmd, rqSeq, data: req.data });
      const resp = await this.exchangeLocked(what, () => {
        const seq = this.outSeq;
        this.outSeq = (this.outSeq + 1) >>> 0 || 1;
        return encodeRmcpPlus({ payloadType: PayloadType.Ipmi, sessionId: this.managedSessionId, sequence: seq, payload: msg }, sec, packetIv());
      }, (dgram) => {
        if (!isRmcpPlus(dgram)) return undefined;
        const p = decodeRmcpPlus(dgram, sec); // verifies the auth code before decrypting
        if (p.sessionId !== this.consoleSessionId || p.payloadType !== PayloadType.Ipmi) return undefined;
        const r = decodeIpmiResponse(p.payload);
        if (r.rqSeq !== rqSeq || r.cmd !== req.cmd || r.netFn !== req.netFn + 1) return undefined;
        if (!this.acceptSeq(p.sequence)) return undefined;
        return r;
      });
      this.lastActivity = Date.now();
      if (resp.completionCode === 0) return resp.data;
      const cc = resp.completionCode;
      if (cc === CC_INSUFFICIENT_PRIVILEGE || (o.privilegeCodes && (cc === 0x80 || cc === 0x81))) {
        throw new PrivilegeTooLowError(this.host, `${what}: ${completionCodeName(cc)}`);
      }
      if (cc === CC_NODE_BUSY) throw new BmcBusyError(this.host, `${what}: ${completionCodeName(cc)}`);
      throw new IpmiCommandError(this.host, what, cc, completionCodeName(cc));
    });
  }

  /**
   * Sends one payload packet (SOL) in the session: the session's next sequence number, its keys, a fresh IV.
   * Fire and forget — the payload's own protocol (SOL's ack/retransmit) decides about losses.
   */
  async sendPayload(type: PayloadType, payload: Buffer, port = this.port): Promise<void> {
    if (this.state !== 'established') throw new SessionClosedError(this.host);
    const seq = this.outSeq;
    this.outSeq = (this.outSeq + 1) >>> 0 || 1;
    const pkt = encodeRmcpPlus({ payloadType: type, sessionId: this.managedSessionId, sequence: seq, payload }, this.security!, packetIv());
    // the BMC hears the session: its inactivity timer starts over (no keepalive needed meanwhile)
    this.lastActivity = Date.now();
    await this.deps.transport.send(this.host, port, pkt);
  }

  /**
   * Receives the session's packets of payload `type` from host:port: authenticated (HMAC checked before
   * decryption), decrypted, addressed to this session and inside the sequence window. `drop` hears why any
   * other datagram of this payload type was refused (forged, replayed, another session's). Returns the
   * function that unsubscribes.
   */
  onPayload(type: PayloadType, port: number, handler: (payload: Buffer) => void, drop: (why: string) => void = () => undefined): () => void {
    return this.deps.transport.subscribe(this.host, port, (dgram) => {
      if (!isRmcpPlus(dgram) || dgram.length < 6 || (dgram[5] & 0x3f) !== type) return;
      if (this.state !== 'established' && this.state !== 'closing') return;
      let p;
      try { p = decodeRmcpPlus(dgram, this.security!); } catch (err) { drop((err as Error).message); return; }
      if (p.sessionId !== this.consoleSessionId) { drop(`session id 0x${p.sessionId.toString(16)} is not ours`); return; }
      if (!this.acceptSeq(p.sequence)) { drop(`session sequence number ${p.sequence} replayed or outside the window`); return; }
      this.lastActivity = Date.now();
      handler(p.payload);
    });
  }

  /** The session id the BMC gave this session (what Get Payload Instance Info reports for a payload we hold). */
  get bmcSessionId(): number { return this.managedSessionId; }

  private elevated = false;
  /** keepalive requests sent so far (diagnostics, tests) */
  keepalivesSent = 0;

  /** Set Session Privilege to the requested level (IPMI 2.0 §22.18). */
  private async elevate(): Promise<void> {
    const priv = this.opts.privilege ?? Privilege.Administrator;
    const got = decodeSetSessionPrivilege(await this.command('Set Session Privilege', setSessionPrivilegeRequest(priv), { privilegeCodes: true, noElevate: true }));
    this.elevated = true;
    this.log.debug({ privilege: privilegeName(got) }, 'session privilege set');
  }

  /**
   * A Get Device ID once the session has been idle (nothing sent to the BMC, no answer from it) for `keepaliveMs`.
   * Idleness is checked four times per period, so a keepalive goes out at most 1.25 periods after the last packet:
   * a BMC closes a session it has not heard from for its inactivity timeout — OpenIPMI's ipmi_sim after 30 s
   * (lanserv default_session_timeout), many BMCs after 60 s — and checking only once per period let the gap reach
   * two periods (a console idle through a long disk write lost its session: docs/BENCHMARKS.md "Deploy").
   */
  private startKeepalive(): void {
    const every = this.deps.keepaliveMs;
    if (!(every > 0)) return;
    this.keepalive = setInterval(() => {
      if (this.state !== 'established' || Date.now() - this.lastActivity < every) return;
      this.keepalivesSent++;
      this.lastActivity = Date.now(); // one keepalive per idle period, even while its answer is outstanding
      this.deviceId().catch((err) => this.log.warn({ err: (err as Error).message }, 'IPMI keepalive failed'));
    }, Math.max(50, Math.floor(every / 4)));
    this.keepalive.unref();
  }

  // ---- commands

  async deviceId(): Promise<DeviceId> { return decodeDeviceId(await this.command('Get Device ID', getDeviceIdRequest())); }

  /** The system GUID formatted like an SMBIOS UUID (see formatGuid). */
  async systemGuid(): Promise<string> { return decodeSystemGuid(await this.command('Get System GUID', getSystemGuidRequest())); }

  async chassisStatus(): Promise<ChassisStatus> { return decodeChassisStatus(await this.command('Get Chassis Status', getChassisStatusRequest())); }

  async powerStatus(): Promise<'on' | 'off'> { return (await this.chassisStatus()).powerOn ? 'on' : 'off'; }

  async power(action: PowerAction): Promise<void> { await this.command(`Chassis Control (${action})`, chassisControlRequest(action)); }

  async setBootDevice(f: { device: BootDevice; uefi?: boolean; persistent?: boolean }): Promise<void> {
    await this.command('Set System Boot Options', setBootFlagsRequest(f));
  }

  async getBootDevice(): Promise<BootFlags> { return decodeBootFlags(await this.command('Get System Boot Options', getBootOptionsRequest())); }

  async lanConfig(): Promise<LanConfig> {
    const ch = this.deps.channel ?? (this.deps.channel = decodeChannelInfo(await this.command('Get Channel Info', getChannelInfoRequest())).channel || 1);
    const ip = formatIp(decodeLanConfig(await this.command('Get LAN Configuration (IP)', getLanConfigRequest(ch, LanParam.IpAddress)), LanParam.IpAddress));
    const mac = formatMac(decodeLanConfig(await this.command('Get LAN Configuration (MAC)', getLanConfigRequest(ch, LanParam.MacAddress)), LanParam.MacAddress));
    return { ip, mac, channel: ch };
  }

  /** Close Session (best effort: one exchange with the normal retries); always ends in state `closed`. */
  async close(): Promise<void> {
    if (this.keepalive) { clearInterval(this.keepalive); this.keepalive = null; }
    if (this.state !== 'established') { this.state = 'closed'; return; }
    this.state = 'closing';
    try {
      await this.command('Close Session', closeSessionRequest(this.managedSessionId));
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'Close Session failed');
    } finally {
      this.state = 'closed';
    }
  }
}
