import { strict as assert } from "node:assert";

/**
 * A section of a Markdown document: from the heading line that starts with `heading` (e.g.
 * "## Configuration reference", or "## Configuration" for exactly that title) to the next heading
 * of the same or a higher level. Fails the test when there is no such heading, so a renamed
 * section is reported as such instead of the test reading nothing.
 */
export function markdownSection(markdown: string, heading: string): string {
    const level = /^#+/.exec(heading)?.[0].length;
    assert.ok(level, `markdownSection: "${heading}" is not a heading`);
    const lines = markdown.split("\n");
    const start = lines.findIndex((line) => line === heading || (line.startsWith(heading) && /^[\s(:`]/.test(line.slice(heading.length))));
    assert.ok(start >= 0, `the document has no section "${heading}"`);
    const end = lines.findIndex((line, i) => i > start && /^#+ /.test(line) && /^#+/.exec(line)![0].length <= level);
    return lines.slice(start, end < 0 ? undefined : end).join("\n");
}
