// Types for daemon-dist.mjs (plain JS: bin/rackseed.mjs loads it before tsx is registered, or without tsx at all).
export declare const SOURCE_DIRS: string[];
export declare const DIST_DIR: string;
export declare const DIST_ENTRY: string;
export declare const STAMP: string;
export declare const BUILD_FORMAT: number;
export declare function sourceFingerprint(pkg: string): { hash: string; files: Record<string, string> };
export declare function compiledDaemon(pkg: string): { entry: string } | { reason: string };
export declare function buildDaemon(pkg: string): Promise<number>;
