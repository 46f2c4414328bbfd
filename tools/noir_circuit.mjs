#!/usr/bin/env node
// The Noir half of Linen's proving toolchain (linen/zk/toolchain.py drives it; bb does the proving):
//
//   node noir_circuit.mjs compile PROJECT_DIR OUT_PROGRAM_JSON
//       compile with the pinned noir_wasm and write the program artefact (the JSON nargo writes to
//       target/<name>.json: noir_version, hash, abi, bytecode, ...), which `bb -b` reads.
//   node noir_circuit.mjs execute PROGRAM_JSON OUT_WITNESS_GZ [INPUTS_JSON | -]
//       execute the compiled program with noir_js on the inputs (see noir_run.mjs for their form) and
//       write the compressed witness stack (what nargo writes to target/<name>.gz), which `bb -w`
//       reads. Prints main's return value as JSON on stdout.
//
// Exit codes as noir_run.mjs: 0 ok, 1 compile error or other fault, 2 usage or bad JSON, 3 execution
// failed (an assertion or constraint does not hold for the inputs). Offline: `git` dependencies are
// refused; the compiler reads the project through a file system that refuses writes.
import { existsSync, promises as fsp } from "node:fs";
import { resolve } from "node:path";

import { compile, createFileManager } from "@noir-lang/noir_wasm";
import { Noir } from "@noir-lang/noir_js";

import { offline, readStdin } from "./noir_offline.mjs";

const USAGE =
  "usage: node noir_circuit.mjs compile PROJECT_DIR OUT_PROGRAM_JSON\n" +
  "       node noir_circuit.mjs execute PROGRAM_JSON OUT_WITNESS_GZ [INPUTS_JSON | -]";

const { readOnlyFs, fail } = offline("noir_circuit");

/** Write through a temporary file and a rename, so a reader never sees half a file. */
async function writeAtomic(path, data) {
  const tmp = `${path}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, path);
}

async function compileCommand(projectArg, outPath) {
  const projectDir = resolve(projectArg);
  if (!existsSync(`${projectDir}/Nargo.toml`)) fail(2, `no Nargo.toml in ${projectDir}`);
  const FileManager = createFileManager(projectDir).constructor;
  let program;
  try {
    const artifacts = await compile(new FileManager(readOnlyFs, projectDir), projectDir, () => {}, () => {});
    program = artifacts.program;
  } catch (err) {
    fail(1, `compiling ${projectDir} failed:\n${err.message}`);
  }
  await writeAtomic(resolve(outPath), JSON.stringify(program));
}

async function executeCommand(programPath, witnessPath, inputsArg) {
  let program;
  try {
    program = JSON.parse(await fsp.readFile(resolve(programPath), "utf8"));
  } catch (err) {
    fail(2, `cannot read the program ${programPath}: ${err.message}`);
  }
  const rawInputs = inputsArg !== undefined && inputsArg !== "-" ? inputsArg : await readStdin();
  let inputs;
  try {
    inputs = rawInputs.trim() === "" ? {} : JSON.parse(rawInputs);
  } catch (err) {
    fail(2, `inputs are not JSON: ${err.message}`);
  }
  let result;
  try {
    result = await new Noir(program).execute(inputs);
  } catch (err) {
    const stack = err.noirCallStack ? `\n  ${err.noirCallStack.join("\n  ")}` : "";
    fail(3, `executing ${programPath} failed: ${err.message}${stack}`);
  }
  await writeAtomic(resolve(witnessPath), result.witness);
  process.stdout.write(`${JSON.stringify(result.returnValue ?? null)}\n`);
}

async function main() {
  console.log = () => {}; // noir_wasm logs progress on stdout, which carries only the result
  const [command, ...args] = process.argv.slice(2);
  if (command === "compile" && args.length === 2) return compileCommand(...args);
  if (command === "execute" && (args.length === 2 || args.length === 3)) return executeCommand(...args);
  fail(2, USAGE);
}

main().catch((err) => fail(1, err.stack ?? String(err)));
