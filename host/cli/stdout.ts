// Standard output, touched only when a subcommand needs the stream: on a pipe, touching
// process.stdout switches the descriptor to non-blocking mode, after which the mapping command's
// large blocking writes (transform/fd.ts) fall back to the slower stream. Imports nothing of ours.
import type { Writable } from "node:stream";

/** process.stdout, with a closed pipe (`| head`) taken as the reader's normal way to stop. */
export function stdout(): Writable {
  if (process.stdout.listenerCount("error") === 0) {
    process.stdout.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(0);
      throw err;
    });
  }
  return process.stdout;
}
