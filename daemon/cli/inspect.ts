// `rackseed inspect NODE [--leave-running] [--wait] [--timeout SECONDS] [--json]`: inspect a node through its BMC
// (PXE once, power on, the discovery ramdisk's inventory, power off) via the daemon (RACKSEED_URL, RACKSEED_TOKEN;
// `POST /api/v1/nodes/:id/inspect`). NODE: a node id, boot MAC or serial. `--leave-running`: the node is not powered
// off after its inventory but left in the discovery ramdisk, its root shell on the serial console (`rackseed console
// NODE`), until the engineer powers it off or deploys it. With --wait: until the job ends (one line per step).
// Exit codes (client.ts EXIT): FAILED when the job failed, TIMEOUT when --wait gave up, NOT_FOUND / CONFLICT as refused.
import { Command } from 'commander';
import type { Job } from '../../shared/api.ts';
import type { NodeSummary } from '../../shared/node.ts';
import { CliError, DaemonClient, EXIT, resolveNode, runAction } from './client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nodeOf = (job: Job) => job.nodeId ?? '?';

/** A job's steps as one line, e.g. "set-boot-pxe done, power-on done, wait-inventory running, leave-running pending". */
export function stepsLine(job: Job): string {
  return job.steps.map((s) => `${s.name} ${s.status}`).join(', ');
}

export function inspectCommand(): Command {
  return new Command('inspect')
    .description('inspect a node through its BMC (PXE boot into the discovery ramdisk, inventory, power off); NODE: id, MAC or serial')
    .argument('<node>', 'a node id, MAC or serial')
    .option('--leave-running', 'keep the node on in the discovery ramdisk after its inventory (root shell on its serial console: rackseed console NODE)', false)
    .option('--wait', 'wait until the job has ended', false)
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds', '1200')
    .option('--json', 'print JSON', false)
    .action(async (ref: string, o: { leaveRunning: boolean; wait: boolean; timeout: string; json: boolean }) => {
      const timeoutS = Number(o.timeout);
      await runAction(o.json, async () => {
        if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new CliError(`--timeout must be a positive number of seconds, got ${o.timeout}`, EXIT.USAGE);
        const client = DaemonClient.fromEnv();
        const node = await resolveNode<NodeSummary>(client, ref);
        let job = await client.call<Job>('POST', `/api/v1/nodes/${encodeURIComponent(node.id)}/inspect`, { leaveRunning: o.leaveRunning });
        if (!o.wait) return job;
        const end = Date.now() + timeoutS * 1000;
        let last = '';
        while (job.status !== 'done' && job.status !== 'failed') {
          if (Date.now() > end) throw new CliError(`job ${job.id} still ${job.status} after ${timeoutS} s: ${stepsLine(job)}`, EXIT.TIMEOUT, job);
          await sleep(2000);
          job = (await client.call<Job[]>('GET', '/api/v1/jobs')).find((j) => j.id === job.id) ?? job;
          const line = stepsLine(job);
          if (!o.json && line !== last) process.stderr.write(`${node.id}: ${line}\n`);
          last = line;
        }
        if (job.status === 'failed') throw new CliError(`inspection of ${node.id} failed: ${job.error ?? '?'}`, EXIT.FAILED, job);
        return job;
      }, (job) => {
        const left = job.steps.some((s) => s.name === 'leave-running');
        if (job.status !== 'done') return `inspection of ${nodeOf(job)} started (job ${job.id}${left ? ', the node will be left running in the discovery ramdisk' : ''})`;
        return left
          ? `${nodeOf(job)} inspected and left running in the discovery ramdisk: rackseed console ${nodeOf(job)} (root shell); power it off or deploy it when done`
          : `${nodeOf(job)} inspected (job ${job.id}), powered off`;
      });
    });
}
