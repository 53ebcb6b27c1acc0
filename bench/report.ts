// What the bench and `--compare` share to report numbers: medians and quantiles of per-run values,
// and fixed-width text tables.

/** The value at quantile `q` (0..1) of already sorted samples; NaN for none. */
export function quantile(sorted: readonly number[], q: number): number {
    if (sorted.length === 0) return Number.NaN;
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
    if (values.length === 0) return Number.NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Rows as aligned text lines, the first row a header underlined with dashes. Columns listed in
 * `leftAligned` are padded on the right (names, verdicts), the others on the left (numbers).
 */
export function renderTable(rows: readonly (readonly string[])[], leftAligned: readonly number[]): string[] {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    const out: string[] = [];
    for (const [index, row] of rows.entries()) {
        out.push(row.map((cell, i) => (leftAligned.includes(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd());
        if (index === 0) out.push(widths.map((w) => "-".repeat(w)).join("  "));
    }
    return out;
}
