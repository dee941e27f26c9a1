// One zustand store made of the typed slices. `appStore` is the vanilla store (used by the bridge, actions and
// tests); components read it through `useApp(selector)` and select single values.
import { createStore, type StateCreator, type StoreApi } from 'zustand/vanilla';
import { useStore } from 'zustand';
import {
  createBmcSlice, createDeploySlice, createDeployUiSlice, createEventsSlice, createHandoffSlice, createNetworkSlice, createNodesSlice, createSelectionSlice, createSeedSlice, createServicesSlice,
  createUiSlice,
  type RootState,
} from './slices.ts';

export type { RootState } from './slices.ts';
export type AppStore = StoreApi<RootState>;

const createState = (...a: Parameters<StateCreator<RootState>>): RootState => ({
  ...createNetworkSlice(...a),
  ...createBmcSlice(...a),
  ...createNodesSlice(...a),
  ...createEventsSlice(...a),
  ...createServicesSlice(...a),
  ...createHandoffSlice(...a),
  ...createSelectionSlice(...a),
  ...createDeploySlice(...a),
  ...createDeployUiSlice(...a),
  ...createSeedSlice(...a),
  ...createUiSlice(...a),
});

export function createAppStore(): AppStore {
  return createStore<RootState>()(createState);
}

export const appStore: AppStore = createAppStore();

/** Restore every slice to its initial state (tests; logging out). */
export function resetAppStore(store: AppStore = appStore): void {
  // the initial state built on this store's own setState: its setters keep changing this store (not a throw-away one)
  store.setState(createState(store.setState, store.getState, store), true);
}

export function useApp<T>(selector: (s: RootState) => T): T {
  return useStore(appStore, selector);
}
