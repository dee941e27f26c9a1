// Node model shared by the daemon (store, API) and the renderer (types only; no I/O here).
// DESIGN.md "Node lifecycle": discovered → inspecting → available → deploying → active, plus cleaning/error; before
// them `seen`: a PXE client RackSeed noticed but did not boot (allowlist admission, see BootAdmission in api.ts);
// `deploy-failed` and `clean-failed` (Ironic's "deploy failed"/"clean failed"): a deploy or clean that did not finish.

/**
 * Lifecycle states. `seen`: a PXE client that asked to boot while only allowed machines boot (proxy mode beside the
 * site's DHCP, or safe mode); RackSeed answers it nothing and never touches it until it is allowed (→ `discovered`).
 * `error`, `deploy-failed` and `clean-failed` always carry a reason on the node (`lastError`). `active`: the deployed
 * OS has booted from a disk whose image was written and verified. A `clean-failed` node never becomes `available`
 * without a clean that succeeds.
 */
export const NODE_STATES = ['seen', 'discovered', 'inspecting', 'available', 'deploying', 'active', 'cleaning', 'error', 'deploy-failed', 'clean-failed'] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** States whose node keeps the reason it got there in `lastError`. */
export const FAILED_STATES: readonly NodeState[] = ['error', 'deploy-failed', 'clean-failed'];

/** How a state reads in text (the CLI, the UI): "deploy failed" for `deploy-failed`. */
export function stateLabel(s: NodeState): string {
  return s.replace('-', ' ');
}

/** Where a node event came from. */
export type EventSource = 'dhcp' | 'tftp' | 'http' | 'agent' | 'bmc' | 'lifecycle' | 'job' | 'survey' | 'api';

/** One entry of a node's (or the appliance's) history. `mac` is lower-case colon form, or null for global events. */
export interface NodeEvent {
  id: number;
  /** ms since epoch */
  at: number;
  source: EventSource;
  /** short machine-readable verb, e.g. "offer", "ack", "rrq-done", "script", "inventory", "state" */
  kind: string;
  mac: string | null;
  nodeId: string | null;
  /** human-readable one-liner for the UI and logs */
  message: string;
  /** structured detail (never secrets) */
  detail?: Record<string, unknown>;
  /** 'error' marks the failing step in a boot timeline */
  level?: 'info' | 'warn' | 'error';
}

export interface BmcRef {
  address: string;
  /** System GUID reported by the BMC (lower-case, dashed), null when unknown */
  guid: string | null;
  vendor: string | null;
  /** how the BMC was matched to this node (mac: one of the host MACs a Redfish BMC lists is this node's) */
  matchedBy: 'guid' | 'mac' | 'power-correlation' | 'manual' | null;
  /** the protocol RackSeed drives this BMC with (null: not known; IPMI is used) — a hand-off maps it to the engine's driver */
  protocol?: 'ipmi' | 'redfish' | null;
}

export interface NodeSummary {
  id: string;
  /** boot MAC, lower-case colon notation */
  mac: string;
  ip: string | null;
  state: NodeState;
  maintenance: boolean;
  lastError: string | null;
  firmware: 'bios' | 'uefi' | null;
  serial: string | null;
  uuid: string | null;
  bmc: BmcRef | null;
  power: 'on' | 'off' | null;
  /**
   * A RackSeed job powered this machine on (or power-cycled it into PXE) through its BMC and has not powered it off
   * since. Only then may RackSeed power it off again (the agent's `poweroff`); a machine someone else started is
   * left running.
   */
  poweredOnByRackSeed: boolean;
  cpu: string | null;
  memoryMiB: number | null;
  diskGiB: number | null;
  createdAt: number;
  updatedAt: number;
}
