#!/usr/bin/env node
// Compile a Noir project with the pinned noir_wasm and execute it with noir_js (witness generation
// only, no proving): node noir_run.mjs [--verbose] PROJECT_DIR [INPUTS_JSON | -]
//
// INPUTS_JSON maps main's parameter names to values, as noir_js takes them: a Field or integer as a
// "0x..." hex string, a decimal string or a number; arrays as JSON arrays; structs as objects. With
// no INPUTS_JSON, or "-", it is read from stdin. Prints main's return value as JSON on stdout (Fields
// and integers as 0x-hex strings; null if main returns nothing). Exit codes: 0 ok, 1 the project
// does not compile (or another fault), 2 usage or bad JSON, 3 execution failed (the inputs do not
// fit main's parameters, or an assertion or constraint does not hold for them).
//
// Offline and read-only: sources are read from disk (the project and its `path` dependencies), the
// compiler never writes, and `git` dependencies are refused instead of fetched. Nothing is cached:
// every run compiles (1.7 s for a trivial program, 3-5 s for circuits/poseidon2_check on two busy
// cores; --verbose prints the timings).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";

import { compile, createFileManager } from "@noir-lang/noir_wasm";
import { Noir } from "@noir-lang/noir_js";

import { offline, readStdin } from "./noir_offline.mjs";

const USAGE = "usage: node noir_run.mjs [--verbose] PROJECT_DIR [INPUTS_JSON | -]";

const { readOnlyFs, fail } = offline("noir_run");

async function main() {
  const args = process.argv.slice(2);
  const verbose = args[0] === "--verbose";
  if (verbose) args.shift();
  // noir_wasm logs progress with console.log: stdout carries only the result, stderr the progress.
  console.log = verbose ? (...parts) => console.error(...parts) : () => {};
  if (args.length < 1 || args.length > 2 || args[0].startsWith("-")) fail(2, USAGE);
  const projectDir = resolve(args[0]);
  if (!existsSync(`${projectDir}/Nargo.toml`)) fail(2, `no Nargo.toml in ${projectDir}`);

  const rawInputs = args.length === 2 && args[1] !== "-" ? args[1] : await readStdin();
  let inputs;
  try {
    inputs = rawInputs.trim() === "" ? {} : JSON.parse(rawInputs);
  } catch (err) {
    fail(2, `inputs are not JSON: ${err.message}`);
  }

  const t0 = performance.now();
  // The FileManager class is not exported; take it from the node factory and back it with readOnlyFs.
  const FileManager = createFileManager(projectDir).constructor;
  let program;
  try {
    // Diagnostics come back in the thrown error's message, so the log functions stay quiet.
    const artifacts = await compile(new FileManager(readOnlyFs, projectDir), projectDir, () => {}, () => {});
    program = artifacts.program;
  } catch (err) {
    fail(1, `compiling ${projectDir} failed:\n${err.message}`);
  }
  const t1 = performance.now();

  let returnValue;
  try {
    ({ returnValue } = await new Noir(program).execute(inputs));
  } catch (err) {
    const stack = err.noirCallStack ? `\n  ${err.noirCallStack.join("\n  ")}` : "";
    fail(3, `executing ${projectDir} failed: ${err.message}${stack}`);
  }
  const t2 = performance.now();

  if (verbose) {
    const s = (ms) => (ms / 1000).toFixed(2);
    process.stderr.write(`noir_run: noir ${program.noir_version}, compiled in ${s(t1 - t0)} s, executed in ${s(t2 - t1)} s\n`);
  }
  process.stdout.write(`${JSON.stringify(returnValue ?? null)}\n`);
}

main().catch((err) => fail(1, err.stack ?? String(err)));
