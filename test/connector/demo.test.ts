// `npm run demo:tunnel` must keep working: run it and check every path answered.
import { strict as assert } from "node:assert";
import { runTunnelDemo } from "../../connector/lab/tunnelDemo";

describe("tunnel demo (npm run demo:tunnel)", function () {
    this.timeout(30_000);
    it("shows a request reaching the private HTTPS service over direct, hairpin and SOCKS paths", async () => {
        const lines: string[] = [];
        const result = await runTunnelDemo((line) => lines.push(line));
        assert.deepEqual(result, { direct: 200, hairpin: 200, socks: 200 });
        assert.ok(lines.some((l) => /^hairpin .* 200, x-served-by: platform-proxy/.test(l)), lines.join("\n"));
    });
});
