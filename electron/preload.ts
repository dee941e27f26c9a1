// Preload (sandboxed, context-isolated): exposes exactly one typed method per IPC message on
// `window.rackseed`. Nothing else from Electron or Node reaches the page. Bundled to CommonJS
// (dist/electron/preload.cjs) because sandboxed preloads cannot load ES modules or other files.
import { contextBridge, ipcRenderer } from 'electron';
import { IPC_CHANNELS, type RackseedBridge } from './ipc-contract.ts';

const bridge: RackseedBridge = {
  getConnection: () => ipcRenderer.invoke(IPC_CHANNELS.getConnection),
  getAppInfo: () => ipcRenderer.invoke(IPC_CHANNELS.getAppInfo),
  saveExport: (req) => ipcRenderer.invoke(IPC_CHANNELS.saveExport, req),
};

contextBridge.exposeInMainWorld('rackseed', bridge);
