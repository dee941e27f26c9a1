// Node lifecycle (DESIGN.md "Node lifecycle"): the explicit transition table and the one function that moves a
// node between states. Every transition is persisted together with a `lifecycle/state` event in one transaction.
//
//   seen ──allowed / bmc-power-on / open-admission──▶ discovered      (seen: a PXE client not booted, allowlist admission)
//   discovered ──inspect-start──▶ inspecting ──inventory──▶ available ──deploy-start──▶ deploying ──deploy-done──▶ active
//        └───────────inventory──────────────────────────────▲   │  ▲                          │
//   discovered / inspecting ──job-failed / crash-recovery──▶ error ──inspect-start / inventory / manual──▶ …
//   deploying ──job-failed / crash-recovery──▶ deploy-failed ──deploy-start──▶ deploying   (redeploy)
//                                                              └──clean-start──▶ cleaning   (release)
//   available / active / deploy-failed / clean-failed ──clean-start──▶ cleaning ──clean-done──▶ available
//   cleaning ──job-failed / crash-recovery──▶ clean-failed   (never `available` without a clean that succeeds)
//   active ──deploy-start──▶ deploying   (redeploy over the running OS)
import type { NodeState } from '../shared/node.ts';

/** Why a node changed state; recorded on the event. */
export type TransitionCause =
  | 'pxe-unknown'      // first seen by DHCP/HTTP boot
  | 'allowed'          // the engineer allowed a seen machine to boot (API)
  | 'bmc-power-on'     // a seen machine PXE-booted after a RackSeed job powered its BMC on (PXE UUID = System GUID)
  | 'open-admission'   // a seen machine asked again while every PXE client is admitted (RackSeed the only DHCP server)
  | 'inspect-start'    // an inspect job began
  | 'inventory'        // the agent posted a valid inventory
  | 'job-failed'       // a job step failed (reason kept in lastError)
  | 'crash-recovery'   // the daemon restarted and found the node mid-work
  | 'deploy-start'
  | 'deploy-done'
  | 'clean-start'
  | 'clean-done'
  | 'manual';          // an operator action through the API

export interface Transition { from: NodeState; to: NodeState; causes: readonly TransitionCause[] }

/** Every allowed transition. Anything not listed is refused with an IllegalTransitionError. */
export const TRANSITIONS: readonly Transition[] = [
  { from: 'seen', to: 'discovered', causes: ['allowed', 'bmc-power-on', 'open-admission'] },
  { from: 'discovered', to: 'inspecting', causes: ['inspect-start'] },
  { from: 'discovered', to: 'available', causes: ['inventory'] },
  { from: 'discovered', to: 'error', causes: ['job-failed', 'manual'] },
  { from: 'inspecting', to: 'available', causes: ['inventory', 'crash-recovery'] },
  { from: 'inspecting', to: 'error', causes: ['job-failed', 'crash-recovery'] },
  { from: 'available', to: 'inspecting', causes: ['inspect-start'] },
  { from: 'available', to: 'available', causes: ['inventory'] },
  { from: 'available', to: 'deploying', causes: ['deploy-start'] },
  { from: 'available', to: 'cleaning', causes: ['clean-start'] },
  { from: 'deploying', to: 'active', causes: ['deploy-done'] },
  { from: 'deploying', to: 'deploy-failed', causes: ['job-failed', 'crash-recovery'] },
  { from: 'deploy-failed', to: 'deploying', causes: ['deploy-start'] },
  { from: 'deploy-failed', to: 'cleaning', causes: ['clean-start'] },
  { from: 'deploy-failed', to: 'inspecting', causes: ['inspect-start'] },
  { from: 'active', to: 'deploying', causes: ['deploy-start'] },
  { from: 'active', to: 'cleaning', causes: ['clean-start'] },
  { from: 'cleaning', to: 'available', causes: ['clean-done'] },
  { from: 'cleaning', to: 'clean-failed', causes: ['job-failed', 'crash-recovery'] },
  { from: 'clean-failed', to: 'cleaning', causes: ['clean-start'] },
  { from: 'error', to: 'inspecting', causes: ['inspect-start'] },
  { from: 'error', to: 'available', causes: ['inventory', 'manual'] },
  { from: 'error', to: 'discovered', causes: ['manual'] },
];

export class IllegalTransitionError extends Error {
  constructor(readonly from: NodeState, readonly to: NodeState, readonly transitionCause: TransitionCause) {
    super(`illegal node transition ${from} → ${to} (cause ${transitionCause})`);
    this.name = 'IllegalTransitionError';
  }
}

/** True when `from → to` is allowed for `cause`. */
export function canTransition(from: NodeState, to: NodeState, cause: TransitionCause): boolean {
  return TRANSITIONS.some((t) => t.from === from && t.to === to && t.causes.includes(cause));
}

/** States in which a node is in the middle of work that a crash can interrupt. */
export const WORKING_STATES: readonly NodeState[] = ['inspecting', 'deploying', 'cleaning'];
