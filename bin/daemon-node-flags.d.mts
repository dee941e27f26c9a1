// Types for daemon-node-flags.mjs (plain JS: bin/rackseed.mjs loads it before tsx is registered).
export declare const DAEMON_NODE_FLAGS: string[];
export declare function profilerFlag(p: { execArgv: string[]; nodeOptions?: string }): string | null;
export declare function daemonReexecArgv(p: { execPath: string; execArgv: string[]; argv: string[]; nodeOptions?: string; platform: string }): string[] | null;
export declare function reexecWithDaemonFlags(): Promise<void>;
