// Blobs through the built CLI: detection for files and stdin, --flatten, --from-offset over a
// growing blob, and a 250 MB blob in bounded memory.
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { referenceMap } from "../host/reference/map.js";
import { blob, blobBlocks, flattenNsg, nsgRecordJson, nsgTuple, type NsgRecord } from "./blob-builder.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist/host/cli.js");
const dir = mkdtempSync(join(tmpdir(), "nsg-flow-ecs-blob-"));

function run(args: string[], input?: string | Buffer, nodeArgs: string[] = []) {
  const r = spawnSync("node", [...nodeArgs, cli, ...args], { cwd: root, input, maxBuffer: 1 << 30 });
  return { code: r.status, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}
const lines = (s: string) => s.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));

test("the example blobs: one event per tuple, detected as blobs from files and from stdin", () => {
  const files = ["examples/blobs/nsg-v2-PT1H.json", "examples/blobs/vnet-PT1H.json"];
  const flat = run(["--flatten", ...files]);
  expect(flat.code).toBe(0);
  const flattened = flat.stdout.trim().split("\n");
  expect(flattened).toHaveLength(15 + 8);
  // Each event is the reference mapping of its flattened event.
  const mapped = run(files);
  expect(mapped.code).toBe(0);
  expect(lines(mapped.stdout)).toEqual(flattened.map((f) => JSON.parse(referenceMap(Buffer.from(f)))));
  expect(mapped.stderr).toMatch(/^nsg-flow-ecs: 23 records, 0 errors/);
  const viaStdin = run([], readFileSync(join(root, files[0])));
  expect(viaStdin.stdout).toBe(run([files[0]]).stdout);
  // And the flattened events, as NDJSON, map to the same thing.
  expect(run([], flat.stdout).stdout).toBe(mapped.stdout);
});

test("--from-offset follows a growing blob: each run prints the next offset; every tuple once", () => {
  const recs: NsgRecord[] = [1, 2, 3, 4, 5].map((n) => ({
    time: `2024-03-18T13:2${n}:42.6259228Z`, macAddress: "000D124564789", resourceId: "/SUBSCRIPTIONS/X/NSG", version: 2,
    rules: [{ rule: "DefaultRule_AllowVnetInBound", flows: [{ mac: "000D124564789", flowTuples: [nsgTuple(n, true), nsgTuple(n + 100, true)] }] }],
  }));
  const blocks = blobBlocks(recs.map(nsgRecordJson));
  const path = join(dir, "PT1H.json");
  const seen: string[] = [];
  let offset = 0;
  for (let k = 0; k <= recs.length; k++) {
    let content = blocks[0] + blocks.slice(1, 1 + k).join("") + blocks[blocks.length - 1];
    if (k === 3) content = content.slice(0, content.length - 40); // a read that catches a block half-written
    writeFileSync(path, content);
    const r = run(["--flatten", "--from-offset", String(offset), path]);
    expect(r.code).toBe(0);
    const m = /next offset (\d+)/.exec(r.stderr);
    expect(m).not.toBeNull();
    offset = Number(m![1]);
    seen.push(...r.stdout.split("\n").filter((l) => l !== ""));
  }
  expect(seen).toEqual(recs.flatMap(flattenNsg));
});

test("usage: --from-offset needs a number and one input", () => {
  expect(run(["--from-offset", "x", "a"]).code).toBe(2);
  expect(run(["--from-offset", "5", "a", "b"]).code).toBe(2);
});

test("a truncated blob: its complete records, one error event, exit 1", () => {
  const rec = nsgRecordJson({ time: "2024-03-18T13:21:42Z", resourceId: "/R", version: 2, rules: [{ rule: "r", flows: [{ mac: "M", flowTuples: [nsgTuple(1, true)] }] }] });
  const two = blob([rec, rec]);
  const r = run([], two.slice(0, two.length - 10));
  expect(r.code).toBe(1);
  const out = lines(r.stdout);
  expect(out.map((o) => o.error?.type ?? "ok")).toEqual(["ok", "truncated_blob"]);
});

test("a 250 MB blob streams through the CLI under 200 MB peak RSS, every tuple out", () => {
  const tuplesPerRecord = 2000;
  const record = JSON.stringify(nsgRecordJson({
    time: "2024-03-18T13:21:42.6259228Z", macAddress: "000D124564789",
    resourceId: "/SUBSCRIPTIONS/12345674-1234-1234-1234-12345646546875/RESOURCEGROUPS/FOO/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/AZNTDC02-NSG",
    version: 2,
    rules: [{ rule: "DefaultRule_AllowVnetInBound", flows: [{ mac: "000D124564789", flowTuples: Array.from({ length: tuplesPerRecord }, (_, i) => nsgTuple(i, true, i % 10 === 0)) }] }],
  }));
  const path = join(dir, "big-PT1H.json");
  const fd = openSync(path, "w");
  let size = 0;
  let records = 0;
  writeSync(fd, '{"records":[');
  while (size < 250 * 1024 * 1024) {
    size += writeSync(fd, (records === 0 ? "" : ",") + record);
    records++;
  }
  writeSync(fd, "]}");
  closeSync(fd);
  // Output to /dev/null, as a shipper's sink would take it; the summary counts what went out.
  const devNull = openSync("/dev/null", "w");
  const child = spawnSync("node", ["--require", join(root, "tests/fixtures/report-peak-rss.cjs"), cli, path], {
    cwd: root, stdio: ["ignore", devNull, "pipe"], encoding: "utf8",
  });
  closeSync(devNull);
  const r = { code: child.status, stderr: child.stderr };
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(`nsg-flow-ecs: ${records * tuplesPerRecord} records, 0 errors`);
  const rss = Number(/peak-rss-kb (\d+)/.exec(r.stderr)![1]);
  expect(rss).toBeLessThan(200 * 1024);
}, 600_000);
