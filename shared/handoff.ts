// Hand-off to a cloud engine, as types the daemon and the renderer share (issue 16; DESIGN.md "Ownership, hand-off and
// the seed"). Routes (daemon/api/routes/handoff.ts; every one needs the API token):
//
//   POST /api/v1/handoff        HandoffRequest → HandoffRecord[]   (202: one job per node, kind 'handoff'; poll GET)
//   GET  /api/v1/handoff[?nodes=ID,ID]         → HandoffRecord[]   (every node with a hand-off or an owner; or those)
//   POST /api/v1/takeback       { nodes: string[] } → HandoffRecord[]  (owner back to 'rackseed'; the engine keeps its
//                                                   node — RackSeed never deletes what it handed over)
//   POST /api/v1/handoff/stop                      → { services: ServicesStatus | null, owned: number, stoppedAt: number }
//                                                   (hand over and stop: every netboot service stops; nothing answers
//                                                   on the NIC, also after a daemon restart, until PUT
//                                                   /api/v1/config/network starts them again)
//   GET  /api/v1/handoff/stop                      → HandoverStopState
//   GET  /api/v1/engines                           → EngineInfo[]   (passwords never; `passwordSet` only)
//   PUT  /api/v1/engines        HandoffRequest['engine'] → EngineRef (checked, then saved: a hand-off target)
//   GET  /api/v1/export?format=F[&nodes=ID,ID][&secrets=1] → the file (text; `x-rackseed-secrets: included|omitted`)
//   POST /api/v1/import         { csv: string }    → ImportResult   (400 naming the row and field; nothing imported)
// Node references in `nodes` are RackSeed ids, boot MACs or serials (as the CLI resolves them).

export type EngineKind = 'ironic';
export type EngineAuthKind = 'none' | 'basic';

export interface EngineRef { kind: EngineKind; url: string }

/** Who may touch a node: RackSeed, or the engine it was handed to (its node id there in `engineNode`). */
export type NodeOwner = 'rackseed' | (EngineRef & { engineNode: string | null; since: number });

export interface EngineInfo extends EngineRef { id: string; auth: EngineAuthKind; user: string | null; passwordSet: boolean }

export interface HandoffRequest {
  nodes: string[];
  engine: {
    kind: EngineKind;
    url: string;
    /** 'basic' when `user` is given (HTTP basic, Metal3's Ironic); default 'none' (noauth, Bifrost's) */
    auth?: EngineAuthKind;
    user?: string;
    /** write-only: sealed in the daemon's secret store; absent = keep the one stored for this engine */
    password?: string;
  };
}

export type HandoffStatus = 'running' | 'done' | 'failed' | 'taken-back';

/** What RackSeed read back from the engine after enrolling (the engine's own view). */
export interface HandoffVerification {
  provisionState: string;
  /** the engine's power state ("power on" / "power off") */
  enginePower: string | null;
  /** what RackSeed's own BMC session read at the same time */
  bmcPower: 'on' | 'off' | null;
  powerMatches: boolean;
  ports: { address: string; pxeEnabled: boolean }[];
  portsMatch: boolean;
  /** the microversion the API was spoken in */
  microversion: string;
}

export interface HandoffRecord {
  nodeId: string;
  owner: NodeOwner;
  /** latest attempt; null when never handed off */
  status: HandoffStatus | null;
  engine: EngineRef | null;
  /** the node's id in the engine (Ironic UUID) */
  engineNode: string | null;
  jobId: string | null;
  /** what the engine already had (an existing node with the same MAC that was updated), or null */
  existing: string | null;
  result: HandoffVerification | null;
  /** why the attempt failed, with the engine's own message (Ironic's last_error or faultstring) */
  error: string | null;
  /** after a failure: what remains in the engine (null when everything this attempt created was removed) */
  leftBehind: string | null;
  startedAt: number | null;
  updatedAt: number | null;
}

export const EXPORT_FORMATS = ['metal3', 'tinkerbell', 'ironic', 'ansible', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ImportResult {
  kind: 'nodes' | 'rack-plan';
  rows: number;
  /** nodes created (expected machines, by MAC) */
  created: string[];
  /** nodes that existed and were updated */
  updated: string[];
  /** BMC addresses registered */
  bmcs: string[];
}

/** Whether the appliance was handed over and stopped (persisted; null when running or started again since). */
export interface HandoverStopState { stoppedAt: number | null; owned: number | null }
