// Compile a tree of Solidity sources with the pinned solc-js: node solc_compile.js OUT.json ROOT
// Every .sol under ROOT becomes a source unit named by its path relative to ROOT, so relative imports
// ("../common/X.sol") resolve without an import callback. Writes {ContractName: {abi, bytecode,
// deployedBytecode, source}}. solc is found through NODE_PATH (Linen's tools/node_modules).
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const [out, root] = process.argv.slice(2);
const sources = {};
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (entry.name.endsWith(".sol")) sources[path.relative(root, full)] = { content: fs.readFileSync(full, "utf8") };
  }
})(root);
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
    if (!c.evm.bytecode.object) continue; // interfaces and abstract contracts
    result[name] = {
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
      source: file,
    };
  }
}
fs.writeFileSync(out, JSON.stringify(result));
