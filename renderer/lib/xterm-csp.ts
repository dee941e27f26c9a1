// xterm.js writes the styles it computes (cell size, theme colours, scrollbar) into <style> elements it creates
// itself, and the UI's Content-Security-Policy (`style-src 'self'`, no 'unsafe-inline': daemon/api/server.ts,
// index.html, electron/ipc-contract.ts) refuses inline style elements — the terminal would render without them and
// every update would log a CSP violation. Constructed stylesheets (`new CSSStyleSheet()` adopted by the document) are
// not inline styles and the policy allows them. So while this shim is installed, `document.createElement('style')`
// returns a stand-in: a <template> element (never rendered, holds no style) whose `textContent` and `sheet` are a
// constructed stylesheet adopted by the document, dropped again when the stand-in is removed. Inline <style>
// elements cannot work under this policy anyway, so nothing else loses by it.

let installed = false;

function adopt(doc: Document, sheet: CSSStyleSheet, on: boolean): void {
  const others = doc.adoptedStyleSheets.filter((s) => s !== sheet);
  doc.adoptedStyleSheets = on ? [...others, sheet] : others;
}

function standIn(doc: Document, create: (tag: string) => HTMLElement): HTMLElement {
  const el = create('template');
  const sheet = new CSSStyleSheet();
  let text = '';
  adopt(doc, sheet, true);
  Object.defineProperty(el, 'textContent', {
    get: () => text,
    set: (v: string | null) => { text = v ?? ''; try { sheet.replaceSync(text); } catch { /* a rule the browser rejects */ } },
  });
  Object.defineProperty(el, 'sheet', { get: () => sheet });
  const remove = el.remove.bind(el);
  el.remove = () => { adopt(doc, sheet, false); remove(); };
  return el;
}

/** Installs the stand-in for style elements on `doc` (once). Call before the first terminal opens. */
export function installCspSafeStyles(doc: Document = document): void {
  if (installed || typeof CSSStyleSheet === 'undefined' || !('adoptedStyleSheets' in doc)) return;
  installed = true;
  const original = doc.createElement.bind(doc) as (tag: string, o?: ElementCreationOptions) => HTMLElement;
  doc.createElement = ((tag: string, o?: ElementCreationOptions) => (String(tag).toLowerCase() === 'style'
    ? standIn(doc, (t) => original(t))
    : original(tag, o))) as typeof doc.createElement;
}
