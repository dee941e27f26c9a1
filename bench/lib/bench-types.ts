// What every benchmark module gives the runner (bench/run.ts). Each bench runs its subject side by side with
// reference implementations in the same run and reports ratios; none of them is a timed unit test.

export interface BenchContext {
  /** smaller counts for a smoke run */
  quick: boolean;
  /** progress lines for the terminal */
  log: (line: string) => void;
}

/** One line of the summary table: a case, RackSeed's figure, the reference's figure and the ratio. */
export interface SummaryRow {
  bench: string;
  case: string;
  rackseed: string;
  reference: string;
  /** RackSeed ÷ reference, oriented so that > 1 is better for RackSeed; null when not comparable */
  ratio: number | null;
  goal?: string;
}

export interface BenchReport {
  /** rows for the summary table */
  rows: SummaryRow[];
  /** the bench's section of docs/BENCHMARKS.md (markdown, without its heading), or null to leave it alone */
  markdown: string | null;
}
