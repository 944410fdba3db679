// What a workload hands back to the runner: its figures as JSON, its section
// of the markdown report, and its acceptance goals judged.
import type { QuietCheck } from './machine-quiet.js';

export interface Goal {
  goal: string;
  measured: string;
  /** null when the figure is reported but has no pass/fail target. */
  pass: boolean | null;
}

export interface WorkloadReport {
  /** Key in latest.json. */
  key: string;
  title: string;
  data: unknown;
  /** Markdown body (tables, notes) under the workload's heading. */
  markdown: string;
  goals: Goal[];
  /** Set by the runner: how busy the machine was when the workload started. */
  conditions?: QuietCheck;
}

/** A markdown table from a header row and data rows. */
export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.map((c) => String(c)).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `a / b` as a ratio with two decimals, e.g. `1.23×`. */
export function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : Math.round((a / b) * 100) / 100;
}

/** A number with thousands separators, no decimals. */
export function whole(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds with three decimals. */
export function ms(n: number): string {
  return n.toFixed(3);
}
