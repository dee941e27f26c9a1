// One zustand store made of the typed slices. `appStore` is the vanilla store (used by the bridge, actions and
// tests); components read it through `useApp(selector)` and select single values.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { useStore } from 'zustand';
import {
  createBmcSlice, createDeploySlice, createDeployUiSlice, createEventsSlice, createHandoffSlice, createNetworkSlice, createNodesSlice, createSelectionSlice, createServicesSlice,
  createUiSlice,
  type RootState,
} from './slices.ts';

export type { RootState } from './slices.ts';
export type AppStore = StoreApi<RootState>;

export function createAppStore(): AppStore {
  return createStore<RootState>()((...a) => ({
    ...createNetworkSlice(...a),
    ...createBmcSlice(...a),
    ...createNodesSlice(...a),
    ...createEventsSlice(...a),
    ...createServicesSlice(...a),
    ...createHandoffSlice(...a),
    ...createSelectionSlice(...a),
    ...createDeploySlice(...a),
    ...createDeployUiSlice(...a),
    ...createUiSlice(...a),
  }));
}

export const appStore: AppStore = createAppStore();

/** Restore every slice to its initial state (tests; logging out). */
export function resetAppStore(store: AppStore = appStore): void {
  store.setState(createAppStore().getState(), true);
}

export function useApp<T>(selector: (s: RootState) => T): T {
  return useStore(appStore, selector);
}
