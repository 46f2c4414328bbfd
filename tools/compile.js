// Compile Solidity sources with the pinned solc-js: node compile.js OUT.json FILE.sol...
// Writes {ContractName: {abi, bytecode, deployedBytecode}} for every contract in the files.
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const [out, ...files] = process.argv.slice(2);
const sources = {};
for (const file of files) sources[path.basename(file)] = { content: fs.readFileSync(file, "utf8") };
const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: "prague",
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const result = {};
for (const file of Object.keys(output.contracts)) {
  for (const [name, c] of Object.entries(output.contracts[file])) {
    result[name] = { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object, deployedBytecode: "0x" + c.evm.deployedBytecode.object };
  }
}
fs.writeFileSync(out, JSON.stringify(result));
