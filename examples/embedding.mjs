// Embedding nsg-flow-ecs in a program of your own: run it with `node examples/embedding.mjs`
// after `npm run build` (in an installed package, import from "nsg-flow-ecs" instead).
import { createReadStream } from "node:fs";
import { FlowTransform, transformInput } from "../dist/host/index.js";

const transform = FlowTransform.fromFile(); // the module is loaded once and reused

// One raw event at a time, e.g. from a queue consumer:
const raw = '{"macAddress":"000D3AF87856","time":"2018-11-13T12:00:35.3899262Z","rule":"DefaultRule_DenyAllInBound","flow.0":"1542110402,94.102.49.190,10.5.16.4,28746,443,U,I,D"}';
const ecs = JSON.parse(transform.mapRecord(raw));
console.log(ecs.event.action, ecs.source.ip, "->", `${ecs.destination.ip}:${ecs.destination.port}`);

// A whole blob (or NDJSON file), streamed; count the events by kind.
const totals = { records: 0, errors: 0 };
let denied = 0;
for await (const chunk of transformInput(createReadStream(new URL("./blobs/nsg-v2-PT1H.json", import.meta.url)), transform, totals)) {
  for (const line of chunk.toString("utf8").split("\n")) {
    if (line && JSON.parse(line).event?.type?.[0] === "denied") denied++;
  }
}
console.log(`${totals.records} events (${totals.errors} errors), ${denied} denied`);
