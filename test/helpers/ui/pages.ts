// Page objects for the RackSeed UI (VS Code's test/automation idea: one object per area). Everything is found
// by ARIA role and accessible name, so a control that is not labelled cannot be driven by the tests.
import { expect } from './expect.ts';
import type { Locator, Page } from 'playwright-core';

export class AppShell {
  constructor(readonly page: Page) {}
  nav(): Locator { return this.page.getByRole('navigation', { name: 'Main' }); }
  async open(tab: 'Setup' | 'Fleet' | 'Events'): Promise<void> {
    await this.nav().getByRole('link', { name: new RegExp(`^${tab}`) }).click();
  }
  streamStatus(): Locator { return this.page.getByRole('status', { name: /Daemon connection/ }); }
  async waitLive(timeoutMs = 15_000): Promise<void> {
    await expect(this.streamStatus(), /live/, timeoutMs);
  }
  loginRequired(): Locator { return this.page.getByRole('region', { name: 'Login required' }); }
  errorNotices(): Locator { return this.page.locator('.notice.error'); }
}

export class NetworkStep {
  constructor(readonly page: Page) {}
  form(): Locator { return this.page.getByRole('form', { name: 'Network setup' }); }
  interfaceTable(): Locator { return this.page.getByRole('table', { name: 'Network interfaces' }); }
  interfaceRadio(name: string): Locator { return this.page.getByRole('radio', { name: `Use interface ${name}` }); }
  async interfaceNames(): Promise<string[]> {
    const radios = this.interfaceTable().getByRole('radio');
    const n = await radios.count();
    const names: string[] = [];
    for (let i = 0; i < n; i++) names.push((await radios.nth(i).getAttribute('value')) ?? '');
    return names;
  }
  async choose(iface: string): Promise<void> { await this.interfaceRadio(iface).check(); }
  surveyButton(): Locator { return this.page.getByRole('button', { name: /Survey for DHCP servers|Surveying/ }); }
  mode(m: 'Authoritative' | 'Proxy'): Locator { return this.page.getByRole('radio', { name: new RegExp(`^${m}`) }); }
  poolFirst(): Locator { return this.page.getByLabel('First address'); }
  poolLast(): Locator { return this.page.getByLabel('Last address'); }
  applyButton(): Locator { return this.page.getByRole('button', { name: /Apply network settings|Applying/ }); }
  refusal(): Locator { return this.form().getByRole('alert'); }
  applied(): Locator { return this.form().getByRole('status').filter({ hasText: 'Network services started' }); }
  next(): Locator { return this.page.getByRole('button', { name: 'Next: BMCs' }); }
}

export class BmcStep {
  constructor(readonly page: Page) {}
  user(): Locator { return this.page.getByLabel('BMC user'); }
  password(): Locator { return this.page.getByLabel('BMC password'); }
  save(): Locator { return this.page.getByRole('button', { name: 'Save credentials' }); }
  credentialState(): Locator { return this.page.getByRole('form', { name: 'BMC credentials' }).getByRole('status'); }
  subnet(): Locator { return this.page.getByLabel('BMC subnet (CIDR)'); }
  sweep(): Locator { return this.page.getByRole('button', { name: /^Sweep/ }); }
  progress(): Locator { return this.page.getByRole('progressbar', { name: 'Sweep progress' }); }
  results(): Locator { return this.page.getByRole('table', { name: 'BMCs found' }); }
  next(): Locator { return this.page.getByRole('button', { name: 'Next: Discover' }); }
  async setCredentials(user: string, password: string): Promise<void> {
    await this.user().fill(user);
    await this.password().fill(password);
    await this.save().click();
  }
}

export class DiscoverStep {
  constructor(readonly page: Page) {}
  start(): Locator { return this.page.getByRole('button', { name: /Start discovery|Discovery running/ }); }
  table(): Locator { return this.page.getByRole('table', { name: 'Discovered nodes' }); }
  openFleet(): Locator { return this.page.getByRole('button', { name: 'Open fleet view' }); }
}

export class FleetView {
  constructor(readonly page: Page) {}
  table(): Locator { return this.page.getByRole('table', { name: 'Nodes' }); }
  rows(): Locator { return this.table().locator('tbody tr'); }
  filter(): Locator { return this.page.getByLabel('Filter nodes'); }
  sortBy(column: string): Locator { return this.page.getByRole('button', { name: `Sort by ${column}` }); }
  nodeLink(mac: string): Locator { return this.page.getByRole('link', { name: `Open node ${mac}` }); }
  services(): Locator { return this.page.getByRole('region', { name: 'Services' }); }
  eventLog(): Locator { return this.page.getByRole('table', { name: 'Events' }); }
}

export class NodeDetailPanel {
  constructor(readonly page: Page, readonly mac: string) {}
  root(): Locator { return this.page.getByRole('complementary', { name: `Node ${this.mac}` }); }
  powerButton(a: 'on' | 'off' | 'cycle'): Locator { return this.root().getByRole('button', { name: `Power ${a}` }); }
  bootDevice(): Locator { return this.root().getByLabel('Boot device'); }
  setBootDevice(): Locator { return this.root().getByRole('button', { name: 'Set boot device' }); }
  timeline(): Locator { return this.root().getByRole('list', { name: 'Boot timeline' }); }
  stage(name: 'DHCP' | 'TFTP' | 'HTTP' | 'Agent'): Locator { return this.timeline().getByRole('listitem', { name: new RegExp(`^${name}:`) }); }
  inventory(): Locator { return this.root().getByLabel('Inventory'); }
  close(): Locator { return this.root().getByRole('link', { name: 'Close node detail' }); }
}

/** The fleet view's actions on ticked nodes (hand over, take back, export, import, hand over and stop). */
export class FleetActionsBar {
  constructor(readonly page: Page) {}
  root(): Locator { return this.page.getByRole('group', { name: 'Fleet actions' }); }
  tick(mac: string): Locator { return this.page.getByRole('checkbox', { name: `Select ${mac}` }); }
  selectAll(): Locator { return this.page.getByRole('checkbox', { name: 'Select all shown nodes' }); }
  button(name: 'Hand over…' | 'Take back…' | 'Export…' | 'Import CSV…' | 'Hand over and stop…' | 'Clear selection'): Locator {
    return this.root().getByRole('button', { name, exact: true });
  }
  /** the fleet table's row of a node (found by its MAC link) */
  row(mac: string): Locator {
    return this.page.getByRole('table', { name: 'Nodes' }).getByRole('row').filter({ has: this.page.getByRole('link', { name: `Open node ${mac}` }) });
  }
  async select(...macs: string[]): Promise<void> {
    if (await this.button('Clear selection').count()) await this.button('Clear selection').click();
    for (const m of macs) await this.tick(m).check();
  }
}

export class HandoffDialogPage {
  constructor(readonly page: Page) {}
  root(): Locator { return this.page.getByRole('dialog', { name: 'Hand over to Ironic' }); }
  url(): Locator { return this.root().getByLabel('Ironic API URL'); }
  auth(kind: 'None' | 'HTTP basic'): Locator { return this.root().getByRole('radio', { name: new RegExp(`^${kind}`) }); }
  user(): Locator { return this.root().getByLabel('Ironic user'); }
  password(): Locator { return this.root().getByLabel('Ironic password'); }
  submit(): Locator { return this.root().getByRole('button', { name: /^(Hand over \d+ nodes?|Checking Ironic…)$/ }); }
  refusal(): Locator { return this.root().getByRole('alert', { name: 'Hand-off refused' }); }
  leftOut(): Locator { return this.root().getByRole('status', { name: 'Nodes left out' }); }
  progress(mac: string): Locator { return this.root().getByRole('progressbar', { name: `Hand-off progress of ${mac}` }); }
  row(mac: string): Locator { return this.root().getByRole('row', { name: `Hand-off of ${mac}` }); }
  close(): Locator { return this.root().getByRole('button', { name: 'Close', exact: true }); }
}
