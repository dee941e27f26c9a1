// Renderer entry: resolve the daemon connection, load the snapshot, open the event stream, follow the hash route.
import { createRoot } from 'react-dom/client';
import { App } from './components/App.tsx';
import { ApiClient, ApiError } from './api/client.ts';
import { resolveConnection, streamUrl } from './api/connection.ts';
import { connectStream } from './api/bridge.ts';
import { initActions, loadSnapshot } from './actions.ts';
import { appStore } from './store/store.ts';
import { parseRoute } from './lib/route.ts';
import './styles.css';

async function start(): Promise<void> {
  const syncRoute = () => appStore.getState().setRoute(parseRoute(window.location.hash));
  syncRoute();
  window.addEventListener('hashchange', syncRoute);
  createRoot(document.getElementById('root')!).render(<App />);

  const conn = await resolveConnection();
  const client = new ApiClient(conn);
  initActions(client);
  try {
    await client.health();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      appStore.getState().setStreamStatus('unauthorized');
      return;
    }
  }
  await loadSnapshot();
  connectStream({ url: streamUrl(conn), store: appStore, onReconnect: () => void loadSnapshot() });
}

void start();
