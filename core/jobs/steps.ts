// Step names of BMC jobs, in order (tinkerbell/rufio: a job is an ordered list of single-action tasks).
export const INSPECT_STEPS = ['set-boot-pxe', 'power-on', 'wait-inventory', 'power-off'] as const;
/** Discovery through a BMC whose node is not known yet: read its System GUID first, to recognise the node's inventory. */
/**
 * Inspect and leave running (the engineer asked to keep the node in the discovery ramdisk, e.g. to work in its root
 * shell on the serial console): the node is not powered off; `leave-running` hands the running machine to the
 * engineer (RackSeed no longer counts it as powered on by itself, so neither the agent nor RackSeed powers it off).
 */
export const INSPECT_LEAVE_RUNNING_STEPS = ['set-boot-pxe', 'power-on', 'wait-inventory', 'leave-running'] as const;
export const DISCOVERY_STEPS = ['read-guid', 'set-boot-pxe', 'power-on', 'wait-inventory', 'power-off'] as const;
export type StepName = (typeof DISCOVERY_STEPS)[number];

/** A job step failed: the reason is kept on the step, the job and (for node jobs) the node's lastError. */
export class StepError extends Error {
  constructor(readonly step: string, message: string) {
    super(message);
    this.name = 'StepError';
  }
}

/** Reject after `ms` with a StepError naming `step`. */
export function withTimeout<T>(step: string, ms: number, p: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new StepError(step, `${step} timed out after ${Math.round(ms / 1000)} s`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}
