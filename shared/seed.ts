// The seed (issue 17): the laptop deploys a control node running Ironic, hands every other node to it, stops serving
// them and can be unplugged. API (daemon/api/seed.ts), every route authorized like the others:
//   GET  /api/v1/seed/plan[?control=NODE]   → SeedPlan      (proposed control node: most RAM, then disk; what happens to the others)
//   POST /api/v1/seed        SeedRequest    → SeedRecord    (202: one resumable job; 409 one is running; 400/404/409 checks)
//   GET  /api/v1/seed                       → SeedRecord | null (the latest seed; never a password)
//   POST /api/v1/seed/resume                → SeedRecord    (a failed seed, from the stage that failed)
//   POST /api/v1/seed/rollback              → SeedRecord    (take-back: RackSeed serves every node of the seed again)
//   GET  /api/v1/seed/credentials           → text file     (the site's credentials: only when asked)

export const SEED_STAGES = ['deploy-control', 'wait-ironic', 'handoff', 'pivot', 'report'] as const;
export type SeedStageName = (typeof SEED_STAGES)[number];
export type SeedStatus = 'running' | 'failed' | 'done' | 'rolled-back';
export type SeedStageStatus = 'pending' | 'running' | 'done' | 'failed';

export interface SeedStage {
  name: SeedStageName;
  status: SeedStageStatus;
  startedAt: number | null;
  finishedAt: number | null;
  /** what the stage is doing or did, for the timeline */
  detail: string | null;
  error: string | null;
}

export interface SeedNetwork {
  /** the control node's static address on the provisioning network, with prefix (e.g. 10.0.0.2/24) */
  provisioningCidr: string;
  /** the control node's second NIC on the BMC network: its MAC and static address (absent: BMCs routed) */
  bmcNic?: { mac: string; cidr: string } | null;
  /** the DHCP range the control node's dnsmasq answers for the nodes Ironic registers */
  dhcpRange: { start: string; end: string; netmask: string };
}

export interface SeedRequest {
  /** node id, MAC or serial of the control node (an `available` node RackSeed owns) */
  control: string;
  /** the control-node image in the library (default `lab-control`) */
  image?: string;
  network: SeedNetwork;
  /** seconds to wait for the control node's Ironic API after its OS booted (default 600) */
  ironicTimeoutSec?: number;
  /** SSH public keys for the control node (optional) */
  sshKeys?: string[];
}

export interface SeedPlanNode {
  id: string;
  mac: string;
  serial: string | null;
  memoryMiB: number | null;
  diskGiB: number | null;
  /** control: becomes the control node; handoff: handed to its Ironic; skip: stays RackSeed's (reason) */
  action: 'control' | 'handoff' | 'skip';
  reason: string | null;
}

export interface SeedPlan {
  /** the node proposed (or asked for) as the control node; null when no node can be */
  control: string | null;
  nodes: SeedPlanNode[];
  /** why no node can be the control node, or why the asked one cannot */
  problem: string | null;
  /** the control image's memory need (MiB): a node with less RAM cannot be the control node */
  minMemoryMiB: number;
}

export interface SeedReportNode {
  id: string;
  mac: string;
  serial: string | null;
  /** 'control-node' | 'ironic' (handed over) | 'rackseed' (not handed over) */
  owner: 'control-node' | 'ironic' | 'rackseed';
  ironicNode: string | null;
  provisionState: string | null;
  powerState: string | null;
  verified: boolean;
  error: string | null;
}

export interface SeedReport {
  controlNode: { id: string; mac: string; hostname: string; address: string };
  ironicUrl: string;
  ironicUser: string;
  httpUrl: string;
  nodes: SeedReportNode[];
  /** what was checked, in words */
  verified: string[];
  /** true once RackSeed answers none of the seed's nodes: the laptop can be unplugged */
  unplugReady: boolean;
  finishedAt: number;
}

export interface SeedRecord {
  id: string;
  controlNode: string;
  image: string;
  status: SeedStatus;
  stage: SeedStageName;
  stages: SeedStage[];
  /** the nodes to hand over (fixed when the seed starts) */
  nodes: string[];
  network: SeedNetwork;
  ironicUrl: string;
  error: string | null;
  report: SeedReport | null;
  startedAt: number;
  updatedAt: number;
}
