// Electron main: thin and unprivileged (DESIGN.md "Processes"). It attaches to or starts the daemon
// (daemon-process.ts), opens ONE sandboxed window on the daemon's own UI URL, adds a Content-Security-Policy,
// denies navigation away, new windows, webviews and permission requests, and answers the preload's IPC only
// for the daemon's frames and only with arguments ipc-contract.ts accepts. No native modules here.
import { app, BrowserWindow, dialog, ipcMain, session, type IpcMainInvokeEvent } from 'electron';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  contentSecurityPolicy, IPC_CHANNELS, isTrustedSender, validateInvoke,
  type AppInfo, type Connection, type ExportResult, type IpcChannel, type Validated,
} from './ipc-contract.ts';
import {
  attachFromEnv, daemonLaunchPlan, freeLoopbackPort, newToken, spawnDaemon, waitUntilReady,
  type DaemonEndpoint, type SpawnedDaemon,
} from './daemon-process.ts';

let endpoint: DaemonEndpoint | null = null;
let spawned: SpawnedDaemon | null = null;
let mainWindow: BrowserWindow | null = null;

/** Packaged: resources/daemon (electron-builder.yml extraResources); development: the repository. */
function daemonRoot(): string {
  return app.isPackaged ? join(process.resourcesPath, 'daemon') : resolve(__dirname, '..', '..');
}

/** A Node binary for the daemon: bundled resources/node/bin/node when present, else `node` on PATH. */
function nodeBinary(): string {
  const bundled = join(process.resourcesPath ?? '', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (app.isPackaged && existsSync(bundled)) return bundled;
  const which = process.platform === 'win32' ? 'where' : 'which';
  return execFileSync(which, ['node'], { encoding: 'utf8' }).split(/\r?\n/)[0].trim();
}

async function startOrAttachDaemon(): Promise<DaemonEndpoint> {
  const attached = attachFromEnv(process.env);
  if (attached) {
    await waitUntilReady(attached, 15_000);
    return attached;
  }
  const port = await freeLoopbackPort();
  const token = newToken();
  const root = daemonRoot();
  const plan = daemonLaunchPlan({
    platform: process.platform, nodePath: nodeBinary(), daemonRoot: root, port,
    dataDir: process.env.RACKSEED_DATA_DIR ?? join(app.getPath('userData'), 'daemon'),
    noElevate: process.env.RACKSEED_NO_ELEVATE === '1',
  });
  spawned = spawnDaemon(plan, root, port, token, (line) => console.log(`[daemon] ${line}`));
  await waitUntilReady(spawned, 120_000, spawned.child); // pkexec waits for the user's password
  return spawned;
}

type Handlers = { [C in IpcChannel]: (v: Extract<Validated, { channel: C }>, e: IpcMainInvokeEvent) => Promise<unknown> };

const handlers: Handlers = {
  'rackseed:get-connection': async (): Promise<Connection> => ({ baseUrl: endpoint!.baseUrl, token: endpoint!.token }),
  'rackseed:get-app-info': async (): Promise<AppInfo> => ({ version: app.getVersion(), platform: process.platform, electron: process.versions.electron }),
  'rackseed:save-export': async ({ args: [req] }): Promise<ExportResult> => {
    const r = await dialog.showSaveDialog(mainWindow!, { defaultPath: req.suggestedName, filters: [{ name: req.format.toUpperCase(), extensions: [req.format] }] });
    if (r.canceled || !r.filePath) return { savedTo: null };
    await writeFile(r.filePath, req.content, 'utf8');
    return { savedTo: r.filePath };
  },
};

function registerIpc(): void {
  for (const channel of Object.values(IPC_CHANNELS)) {
    ipcMain.handle(channel, async (event, ...args: unknown[]) => {
      if (!endpoint || !isTrustedSender(event.senderFrame?.url, endpoint.baseUrl)) {
        throw new Error(`IPC ${channel} refused: untrusted sender`);
      }
      const v = validateInvoke(channel, args);
      if (!v.ok) throw new Error(`IPC ${channel} refused: ${v.reason}`);
      return (handlers[v.channel] as (x: Validated, e: IpcMainInvokeEvent) => Promise<unknown>)(v, event);
    });
  }
}

function hardenSession(daemonUrl: string): void {
  const s = session.defaultSession;
  const origin = new URL(daemonUrl).origin;
  s.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders };
    if (details.url.startsWith(origin)) headers['Content-Security-Policy'] = [contentSecurityPolicy()];
    callback({ responseHeaders: headers });
  });
  s.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
  s.setPermissionCheckHandler(() => false);
}

function createWindow(daemonUrl: string): BrowserWindow {
  const origin = new URL(daemonUrl).origin;
  const win = new BrowserWindow({
    width: 1400, height: 900, minWidth: 960, minHeight: 600, title: 'RackSeed', backgroundColor: '#15171a', show: false,
    webPreferences: {
      preload: join(__dirname, 'preload.cjs'),
      sandbox: true, contextIsolation: true, nodeIntegration: false, nodeIntegrationInSubFrames: false,
      webSecurity: true, allowRunningInsecureContent: false, webviewTag: false, spellcheck: false,
    },
  });
  win.removeMenu();
  win.once('ready-to-show', () => win.show());
  const wc = win.webContents;
  wc.on('will-navigate', (e, url) => { if (new URL(url).origin !== origin) e.preventDefault(); });
  wc.on('will-redirect', (e, url) => { if (new URL(url).origin !== origin) e.preventDefault(); });
  wc.on('will-attach-webview', (e) => e.preventDefault());
  wc.setWindowOpenHandler(() => ({ action: 'deny' }));
  void win.loadURL(`${daemonUrl}/`);
  return win;
}

app.enableSandbox();
if (!app.requestSingleInstanceLock()) app.quit();
app.on('second-instance', () => { if (mainWindow) { if (mainWindow.isMinimized()) mainWindow.restore(); mainWindow.focus(); } });
app.on('web-contents-created', (_e, wc) => {
  wc.setWindowOpenHandler(() => ({ action: 'deny' }));
  wc.on('will-attach-webview', (e) => e.preventDefault());
});
app.on('window-all-closed', () => app.quit());
app.on('will-quit', () => { void spawned?.stop(); });

app.whenReady().then(async () => {
  try {
    endpoint = await startOrAttachDaemon();
  } catch (err) {
    dialog.showErrorBox('RackSeed daemon', `The daemon could not be started: ${err instanceof Error ? err.message : String(err)}`);
    app.exit(1);
    return;
  }
  hardenSession(endpoint.baseUrl);
  registerIpc();
  mainWindow = createWindow(endpoint.baseUrl);
}).catch((err) => { console.error(err); app.exit(1); });
