// The core, assembled: one SQLite database and the services built on it. The daemon creates one Core per process;
// tests create one over ':memory:' or a temp dir. `close()` stops jobs and closes the database.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { openDatabase, type Db } from './db.ts';
import { NodeStore } from './store/nodes.ts';
import { EventStore } from './store/events.ts';
import { JobStore } from './store/jobs.ts';
import { BmcStore } from './store/bmcs.ts';
import { ConfigStore } from './store/config.ts';
import { SecretBox } from './secret-box.ts';
import { EventBus } from './event-bus.ts';
import { NodeLifecycle } from './node-lifecycle.ts';

export interface CoreOptions {
  /** data directory (created 0700 if missing) holding rackseed.db and secret.key; null = in-memory (tests) */
  dataDir: string | null;
  logger: Logger;
}

export class Core {
  readonly db: Db;
  readonly nodes: NodeStore;
  readonly events: EventStore;
  readonly jobs: JobStore;
  readonly bmcs: BmcStore;
  readonly config: ConfigStore;
  readonly bus: EventBus;
  readonly lifecycle: NodeLifecycle;
  readonly log: Logger;

  constructor(opts: CoreOptions) {
    this.log = opts.logger;
    let box: SecretBox;
    if (opts.dataDir) {
      mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
      this.db = openDatabase(join(opts.dataDir, 'rackseed.db'));
      box = SecretBox.fromDataDir(opts.dataDir);
    } else {
      this.db = openDatabase(':memory:');
      box = SecretBox.ephemeral();
    }
    this.nodes = new NodeStore(this.db);
    this.events = new EventStore(this.db);
    this.jobs = new JobStore(this.db);
    this.bmcs = new BmcStore(this.db);
    this.config = new ConfigStore(this.db, box);
    this.bus = new EventBus(this.events, this.log);
    this.lifecycle = new NodeLifecycle(this.db, this.nodes, this.events, this.bus);
  }

  close(): void {
    this.db.close();
  }
}
