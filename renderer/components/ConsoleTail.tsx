// The last lines of the node's serial console log (kept by the daemon across restarts, whether or not a console
// is open) under its boot timeline: what the firmware, iPXE or the ramdisk said last. Open when the node failed.
import { useEffect, useState } from 'react';
import { consoleTail } from '../actions.ts';
import { plainConsoleText } from '../lib/console-text.ts';

export function ConsoleTail({ id, refreshKey, failed }: { id: string; refreshKey: string; failed: boolean }) {
  const [lines, setLines] = useState<string[] | null>(null);
  useEffect(() => {
    let live = true;
    void consoleTail(id, 15).then((t) => { if (live) setLines(t ? t.lines.map(plainConsoleText) : null); });
    return () => { live = false; };
  }, [id, refreshKey]);
  if (!lines || lines.length === 0) return null;
  return (
    <details className="console-tail" open={failed}>
      <summary>Console, last lines</summary>
      <pre aria-label="Console last lines">{lines.join('\n')}</pre>
    </details>
  );
}
