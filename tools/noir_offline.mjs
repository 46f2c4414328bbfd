// What both Noir scripts (noir_run.mjs, noir_circuit.mjs) need to run noir_wasm offline and read-only:
// a global fetch that refuses `git` dependencies, a FileSystem (noir_wasm's interface) that reads the
// real disk and refuses every write, stdin as text, and an exit with a message.
import { existsSync, promises as fsp } from "node:fs";

export function offline(tool) {
  // noir_wasm resolves `git` dependencies with the global fetch: refuse them rather than go online.
  globalThis.fetch = async (url) => {
    throw new Error(`${tool} works offline and does not fetch ${url}; use a path dependency`);
  };
  const refuse = (what) => {
    throw new Error(`${tool} does not write files (refused: ${what})`);
  };
  const readOnlyFs = {
    existsSync,
    readFile: (path, encoding) => fsp.readFile(path, encoding),
    readdir: async (dir, options) => (options?.recursive ? listFiles(dir) : fsp.readdir(dir)),
    mkdir: async (dir) => refuse(`mkdir ${dir}`),
    writeFile: async (path) => refuse(`write ${path}`),
    rename: async (from) => refuse(`rename ${from}`),
  };
  const fail = (code, message) => {
    process.stderr.write(`${tool}: ${message}\n`);
    process.exit(code);
  };
  return { readOnlyFs, fail };
}

async function listFiles(dir) {
  const out = [];
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

export async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
