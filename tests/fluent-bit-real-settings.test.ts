// The filter's settings file in a real Fluent Bit (found as bench/fluent-bit.ts says), with the
// .wasm and, when built, the .aot: `nsg-flow-ecs.json` in the filter's Accessible_Paths names an
// indicator set; a flow to a listed address gets threat.enrichments; the feed file replaced on
// disk is picked up without a restart (the new indicator matches, the old one no longer); a
// broken new version keeps the previous one and is said exactly once in the log; a database
// written by tests/geo/mmdb-writer.ts loads (its log line); and a directory without the file,
// or with a feed matching none of the events, changes no byte of the output.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, appendFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { errorLines, findFluentBit, runFluentBit, ROOT } from "../bench/fluent-bit.js";
import { writeMmdb } from "./geo/mmdb-writer.js";

const found = findFluentBit();
const bin = "bin" in found ? found.bin : "";
const withFluentBit = bin ? describe : describe.skip;
const engines = ["build/nsg-flow-ecs.wasm"];
if (existsSync(path.join(ROOT, "build/nsg-flow-ecs.aot"))) engines.push("build/nsg-flow-ecs.aot");

const firstEvent = readFileSync(path.join(ROOT, "examples/fluent-bit/events.ndjson"), "utf8").split("\n")[0]!;
let port = 20000;
/** The first example event (an inbound NSG flow) with another source address and port. */
const flowFrom = (ip: string) => firstEvent.replace("94.102.49.190,10.5.16.4,28746", `${ip},10.5.16.4,${port++}`);

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "nsg-flow-ecs-settings-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function config(name: string, module: string, input: string, accessible: string | undefined, exitOnEof: boolean): string {
  const file = path.join(dir, name);
  writeFileSync(file, `[SERVICE]
    Flush 1
    Log_Level info
    Parsers_File ${path.join(ROOT, "examples/fluent-bit/parsers.conf")}
[INPUT]
    Name tail
    Tag nsg.flow
    Path ${input}
    Parser nsg_flow_raw
    Read_from_Head On
    Refresh_Interval 1
${exitOnEof ? "    Exit_On_Eof On\n" : ""}[FILTER]
    Name wasm
    Match nsg.*
    Event_Format json
    Wasm_Path ${path.join(ROOT, module)}
    Function_Name nsg_flow_ecs
${accessible ? `    Accessible_Paths ${accessible}\n` : ""}    Wasm_Heap_Size 512K
    Wasm_Stack_Size 256K
[OUTPUT]
    Name stdout
    Match nsg.*
    Format json_lines
    json_date_key false
`);
  return file;
}

/** Replaces a file as a feed updater should: written beside it, then renamed over it. */
function replace(file: string, text: string | Uint8Array): void {
  writeFileSync(file + ".new", text);
  renameSync(file + ".new", file);
}

/** Fluent Bit following a file the test appends to, with the filter reading `feeds`. */
function live(module: string, feeds: string) {
  const input = path.join(dir, `in-${path.basename(feeds)}.ndjson`);
  writeFileSync(input, "");
  const child = spawn(bin, ["-c", config(`live-${path.basename(feeds)}.conf`, module, input, feeds, false)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const out = () => stdout.split("\n").filter((l) => l !== "");
  return {
    append: (...lines: string[]) => appendFileSync(input, lines.join("\n") + "\n"),
    /** The last `count` of the first `n` output lines, once there are n. */
    waitLines: async (n: number, count = 2) => {
      for (let t = 0; t < 300 && out().length < n; t++) await new Promise((r) => setTimeout(r, 100));
      expect(out().length).toBe(n);
      return out().slice(n - count);
    },
    stderr: () => stderr,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const providers = (line: string) => ((JSON.parse(line).threat?.enrichments ?? []) as { indicator: { provider: string; name: string } }[])
  .map((e) => `${e.indicator.provider}:${e.indicator.name}`);

withFluentBit("the settings file nsg-flow-ecs.json in a real Fluent Bit", () => {
  describe.each(engines)("with %s", (module) => {
    test("fluent-bit -c examples/fluent-bit/threat-intel.conf, run as its comments say: the Tor exit in the events matches", () => {
      let config = "examples/fluent-bit/threat-intel.conf";
      if (module !== "build/nsg-flow-ecs.aot") {
        config = path.join(dir, "threat-intel.conf");
        writeFileSync(config, readFileSync(path.join(ROOT, "examples/fluent-bit/threat-intel.conf"), "utf8").replace("Wasm_Path         build/nsg-flow-ecs.aot", `Wasm_Path         ${module}`));
      }
      const r = runFluentBit(bin, ["-c", config], { cwd: ROOT });
      expect(r.status).toBe(0);
      expect(errorLines(r.stderr)).toEqual([]);
      const out = r.stdout.toString("utf8").trim().split("\n");
      expect(out).toHaveLength(7);
      expect(out.map(providers)).toEqual([["tor:94.102.49.190"], [], [], [], [], [], []]);
      const said = r.stderr.split("\n").filter((l) => l.startsWith("nsg-flow-ecs:"));
      expect(said).toEqual([
        "nsg-flow-ecs: settings examples/indicators/nsg-flow-ecs.json applied",
        "nsg-flow-ecs: indicators tor: 2 loaded, 0 skipped",
        "nsg-flow-ecs: indicators cti: 2 loaded, 1 skipped (1 with another kind of pattern)",
      ]);
    });

    test("a feed named in the settings matches; replaced on disk it is picked up; a broken version keeps the last good one, said once", async () => {
      const feeds = mkdtempSync(path.join(dir, "feeds-"));
      const input = path.join(dir, `in-${path.basename(feeds)}.ndjson`);
      writeFileSync(input, "");
      writeFileSync(path.join(feeds, "tor.txt"), "# first version\n198.51.100.7\n");
      // reloadSeconds: the check interval, shortened for the test (default 10).
      writeFileSync(path.join(feeds, "nsg-flow-ecs.json"), JSON.stringify({ indicators: { tor: "tor.txt" }, reloadSeconds: 1 }));
      const child = spawn(bin, ["-c", config(`reload-${path.basename(feeds)}.conf`, module, input, feeds, false)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "", stderr = "";
      child.stdout!.on("data", (d) => (stdout += d));
      child.stderr!.on("data", (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      const out = () => stdout.split("\n").filter((l) => l !== "");
      const waitLines = async (n: number) => {
        for (let t = 0; t < 300 && out().length < n; t++) await new Promise((r) => setTimeout(r, 100));
        expect(out().length).toBe(n);
        return out().slice(n - 2);
      };
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      try {
        appendFileSync(input, flowFrom("198.51.100.7") + "\n" + flowFrom("203.0.113.9") + "\n");
        expect((await waitLines(2)).map(providers)).toEqual([["tor:198.51.100.7"], []]);
        expect(stderr).toContain("nsg-flow-ecs: indicators tor: 1 loaded, 0 skipped\n");

        replace(path.join(feeds, "tor.txt"), "# second version\n203.0.113.9\n203.0.113.10\n");
        await sleep(2500);
        appendFileSync(input, flowFrom("198.51.100.7") + "\n" + flowFrom("203.0.113.9") + "\n");
        expect((await waitLines(4)).map(providers)).toEqual([[], ["tor:203.0.113.9"]]);
        expect(stderr).toContain("nsg-flow-ecs: indicators tor: 2 loaded, 0 skipped\n");

        replace(path.join(feeds, "tor.txt"), "not an address\n");
        await sleep(3500); // three checks or more
        appendFileSync(input, flowFrom("198.51.100.7") + "\n" + flowFrom("203.0.113.9") + "\n");
        expect((await waitLines(6)).map(providers)).toEqual([[], ["tor:203.0.113.9"]]);
        const about = stderr.split("\n").filter((l) => l.startsWith("nsg-flow-ecs: indicators tor: tor.txt"));
        expect(about).toEqual(["nsg-flow-ecs: indicators tor: tor.txt: no usable indicator (every entry was invalid) (the previous version stays in use)"]);
      } finally {
        child.kill("SIGTERM");
      }
      expect(await exited).toBe(0);
      expect(errorLines(stderr)).toEqual([]);
    }, 90_000);

    test("the settings file itself: one added later is used, a changed one applied (a set removed), a broken one said once with the last good settings kept", async () => {
      const feeds = mkdtempSync(path.join(dir, "later-"));
      const fb = live(module, feeds);
      try {
        fb.append(flowFrom("198.51.100.7"));
        expect((await fb.waitLines(1, 1)).map(providers)).toEqual([[]]);

        writeFileSync(path.join(feeds, "a.txt"), "198.51.100.7\n");
        writeFileSync(path.join(feeds, "b.txt"), "198.51.100.0/24\n");
        // Looked for at the next check (every 10 s until a settings file names another interval).
        replace(path.join(feeds, "nsg-flow-ecs.json"), JSON.stringify({ indicators: { a: "a.txt", b: "b.txt" }, reloadSeconds: 1 }));
        await sleep(10_500);
        fb.append(flowFrom("198.51.100.7"));
        expect((await fb.waitLines(2, 1)).map(providers)).toEqual([["a:198.51.100.7", "b:198.51.100.0/24"]]);

        replace(path.join(feeds, "nsg-flow-ecs.json"), JSON.stringify({ indicators: { b: "b.txt" }, reloadSeconds: 1 }));
        await sleep(2500);
        fb.append(flowFrom("198.51.100.7"));
        expect((await fb.waitLines(3, 1)).map(providers)).toEqual([["b:198.51.100.0/24"]]);

        replace(path.join(feeds, "nsg-flow-ecs.json"), `{"indicators":{"b":"b.txt"},"reloadSeconds":1`);
        await sleep(3500);
        fb.append(flowFrom("198.51.100.7"));
        expect((await fb.waitLines(4, 1)).map(providers)).toEqual([["b:198.51.100.0/24"]]);
        const said = fb.stderr().split("\n").filter((l) => l.startsWith("nsg-flow-ecs:"));
        expect(said.slice(0, 4)).toEqual([
          `nsg-flow-ecs: settings ${feeds}/nsg-flow-ecs.json applied`,
          "nsg-flow-ecs: indicators a: 1 loaded, 0 skipped",
          "nsg-flow-ecs: indicators b: 1 loaded, 0 skipped",
          `nsg-flow-ecs: settings ${feeds}/nsg-flow-ecs.json applied`,
        ]);
        expect(said.slice(4)).toHaveLength(1);
        expect(said[4]).toMatch(/: not valid JSON at byte \d+ \(the previous settings stay in use; tried again when the file changes\)$/);
      } finally {
        expect(await fb.stop()).toBe(0);
      }
      expect(errorLines(fb.stderr())).toEqual([]);
    }, 90_000);

    test("no settings file, or a feed that matches none of the events: the output is byte for byte the same", () => {
      const events = path.join(ROOT, "examples/fluent-bit/events.ndjson");
      const empty = mkdtempSync(path.join(dir, "empty-"));
      const quiet = mkdtempSync(path.join(dir, "quiet-"));
      writeFileSync(path.join(quiet, "list.txt"), "198.18.0.0/15\n2001:db8::/32\n");
      writeFileSync(path.join(quiet, "nsg-flow-ecs.json"), JSON.stringify({ indicators: { doc: "list.txt" } }));
      const runs = [undefined, empty, quiet].map((accessible, i) => {
        const r = runFluentBit(bin, ["-c", config(`same-${i}-${path.basename(module)}.conf`, module, events, accessible, true)]);
        expect(r.status).toBe(0);
        expect(errorLines(r.stderr)).toEqual([]);
        return r;
      });
      expect(runs[0]!.stdout.toString("utf8").trim().split("\n")).toHaveLength(7);
      expect(runs[1]!.stdout.equals(runs[0]!.stdout)).toBe(true);
      expect(runs[2]!.stdout.equals(runs[0]!.stdout)).toBe(true);
      expect(runs[2]!.stderr).toContain("nsg-flow-ecs: indicators doc: 2 loaded, 0 skipped\n");
      expect(runs[0]!.stderr).not.toContain("nsg-flow-ecs:");
    });

    test("a bad settings file: every record still mapped, without enrichment, and said once", () => {
      const events = path.join(ROOT, "examples/fluent-bit/events.ndjson");
      const bad = mkdtempSync(path.join(dir, "bad-"));
      writeFileSync(path.join(bad, "tor.txt"), "94.102.49.190\n");
      writeFileSync(path.join(bad, "nsg-flow-ecs.json"), JSON.stringify({ indicators: { tor: "tor.txt" }, colour: "blue" }));
      const r = runFluentBit(bin, ["-c", config(`bad-${path.basename(module)}.conf`, module, events, bad, true)]);
      expect(r.status).toBe(0);
      const out = r.stdout.toString("utf8").trim().split("\n");
      expect(out).toHaveLength(7);
      expect(out.map(providers).flat()).toEqual([]);
      const said = r.stderr.split("\n").filter((l) => l.startsWith("nsg-flow-ecs:"));
      expect(said).toEqual([`nsg-flow-ecs: ${bad}/nsg-flow-ecs.json: unknown key "colour" (mapping without enrichment; tried again when the file changes)`]);
    });

    test("databases named in the settings: geo fields on the events; a new version picked up; a truncated one refused, said once, the last good one kept", async () => {
      const feeds = mkdtempSync(path.join(dir, "geo-"));
      const city = (iso: string) => writeMmdb([["94.102.49.0/24", { country: { iso_code: iso } }]], { databaseType: "Test-City", ipVersion: 6, recordSize: 28 });
      const asn = writeMmdb([["94.102.49.0/24", { autonomous_system_number: 202425, autonomous_system_organization: "Example AS" }]], { databaseType: "Test-ASN", ipVersion: 4, recordSize: 24 });
      writeFileSync(path.join(feeds, "city.mmdb"), city("NL"));
      writeFileSync(path.join(feeds, "asn.mmdb"), asn);
      writeFileSync(path.join(feeds, "nsg-flow-ecs.json"), JSON.stringify({ geo: ["city.mmdb", "asn.mmdb"], reloadSeconds: 1 }));
      const fb = live(module, feeds);
      const geoOf = (line: string) => {
        const e = JSON.parse(line) as { source: { geo?: { country_iso_code: string }; as?: { number: number } }; destination: { geo?: unknown } };
        return [e.source.geo?.country_iso_code ?? null, e.source.as?.number ?? null, e.destination.geo ?? null];
      };
      try {
        fb.append(flowFrom("94.102.49.190"), flowFrom("203.0.113.9"));
        expect((await fb.waitLines(2)).map(geoOf)).toEqual([["NL", 202425, null], [null, null, null]]);
        // The CLI's lines (host/transform/summary.ts): the type, the build date, the tree.
        expect(fb.stderr()).toMatch(/nsg-flow-ecs: geo city\.mmdb: Test-City, built \d{4}-\d\d-\d\d, IPv6, [\d,]+ nodes\nnsg-flow-ecs: geo asn\.mmdb: Test-ASN, built \d{4}-\d\d-\d\d, IPv4, [\d,]+ nodes\n/);

        replace(path.join(feeds, "city.mmdb"), city("BE"));
        await sleep(2500);
        fb.append(flowFrom("94.102.49.190"));
        expect((await fb.waitLines(3, 1)).map(geoOf)).toEqual([["BE", 202425, null]]);

        replace(path.join(feeds, "city.mmdb"), city("FR").subarray(0, 40));
        await sleep(3500);
        fb.append(flowFrom("94.102.49.190"));
        expect((await fb.waitLines(4, 1)).map(geoOf)).toEqual([["BE", 202425, null]]);
        const about = fb.stderr().split("\n").filter((l) => l.startsWith("nsg-flow-ecs: geo city.mmdb: ") && !l.includes("Test-City, built"));
        expect(about).toHaveLength(1);
        expect(about[0]).toMatch(/ \(the databases in use stay\)$/);
      } finally {
        expect(await fb.stop()).toBe(0);
      }
      expect(errorLines(fb.stderr())).toEqual([]);
    }, 90_000);
  });
});
