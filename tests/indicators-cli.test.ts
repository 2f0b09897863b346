// `nsg-flow-ecs --indicators NAME=FILE`: the sets' summary lines, the matched count in the final
// summary, the threat member on the matching event only, and exit 2 for a set that cannot be used.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist/host/cli.js");
const feed = (name: string) => join(root, "tests/fixtures/indicators", name);

function run(args: string[], input: string) {
  const r = spawnSync("node", [cli, ...args], { cwd: root, input, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const event = (dst: string) => JSON.stringify({ time: "2026-12-01T10:00:00Z", macAddress: "000D3AF87856", rule: "r", "flow.0": `1764583200,10.0.0.4,${dst},443,55000,T,O,A` });
const input = [event("185.220.101.1"), event("8.8.8.8"), event("1.10.17.1")].join("\n") + "\n";

test("summary lines per set, then the events that matched; each set's provider on its events", () => {
  const r = run(["--indicators", `tor=${feed("exit-addresses.txt")}`, `--indicators=drop=${feed("drop.txt")}`], input);
  expect(r.status).toBe(0);
  const err = r.stderr.split("\n");
  expect(err[0]).toBe("nsg-flow-ecs: indicators tor: 3 loaded, 2 skipped (2 invalid)");
  expect(err[1]).toBe(`nsg-flow-ecs: indicators tor: line 11: not an IPv4 or IPv6 address: "ExitAddress 185.220.101.300 2026-12-01 17:38:47"`);
  expect(err[3]).toBe("nsg-flow-ecs: indicators drop: 3 loaded, 0 skipped");
  expect(err[4]).toMatch(/^nsg-flow-ecs: 3 records, 0 errors, 2 matching indicators, /);
  const out = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { threat?: { enrichments: { indicator: { provider: string } }[] } });
  expect(out.map((e) => e.threat?.enrichments.map((x) => x.indicator.provider))).toEqual([["tor"], undefined, ["drop"]]);
  // Without sets the unmatched event is the same bytes.
  expect(run([], input).stdout.split("\n")[1]).toBe(r.stdout.split("\n")[1]);
});

test("a set that cannot be read or has nothing usable: exit 2 with the reason; bad usage: exit 2", () => {
  let r = run(["--indicators", `x=${feed("all-bad.txt")}`], input);
  expect(r.status).toBe(2);
  expect(r.stderr).toBe("nsg-flow-ecs: indicators x: no usable indicator (every entry was invalid)\n");
  expect(r.stdout).toBe("");
  r = run(["--indicators", "x=/nonexistent/feed.txt"], input);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^nsg-flow-ecs: indicators x: cannot read \/nonexistent\/feed.txt: ENOENT/);
  for (const args of [["--indicators", "x"], ["--indicators", "=f"], ["--indicators", "a=f", "--indicators", "a=g"], ["--flatten", "--indicators", "a=f"]]) {
    expect(run(args, input).status).toBe(2);
  }
});
