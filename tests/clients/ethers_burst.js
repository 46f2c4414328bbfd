// ethers v6 against the Linen devnet: five transfers sent back to back without waiting, then all five
// receipts; twice:
//   - through ethers' NonceManager (the nonce counted locally, each transaction estimated with its own
//     future nonce), the way ethers' docs send in a row;
//   - through a plain Wallet on a provider with cacheTimeout -1, each nonce read from the node's pending
//     count (with the default 250 ms cache ethers would reuse one pending count for all five, on any node).
// usage: node ethers_burst.js HTTP_URL PRIVATE_KEY ; prints one JSON object.
const { ethers } = require("ethers");

async function burst(signer, provider, label) {
  const address = await signer.getAddress();
  const started = await provider.getTransactionCount(address, "pending");
  const recipients = Array.from({ length: 5 }, () => ethers.Wallet.createRandom().address);
  const sent = [];
  for (const [i, to] of recipients.entries()) {
    sent.push(await signer.sendTransaction({ to, value: ethers.parseEther("0.01") * BigInt(i + 1) }));
  }
  const receipts = await Promise.all(sent.map((tx) => tx.wait(1, 60_000)));
  const balances = await Promise.all(recipients.map((r) => provider.getBalance(r)));
  return {
    signer: label,
    statuses: receipts.map((r) => r.status),
    nonces: sent.map((tx) => tx.nonce - started),
    types: sent.map((tx) => tx.type),
    blocks: receipts.map((r) => r.blockNumber),
    balances: balances.map((b) => b.toString()),
    expectedBalances: recipients.map((_, i) => (ethers.parseEther("0.01") * BigInt(i + 1)).toString()),
  };
}

async function main() {
  const [httpUrl, key] = process.argv.slice(2);
  const cached = new ethers.JsonRpcProvider(httpUrl, undefined, { staticNetwork: true });
  const managed = await burst(new ethers.NonceManager(new ethers.Wallet(key, cached)), cached, "NonceManager");
  const uncached = new ethers.JsonRpcProvider(httpUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const plain = await burst(new ethers.Wallet(key, uncached), uncached, "Wallet");
  console.log(JSON.stringify({ runs: [managed, plain] }));
}

main().catch((err) => { console.error(err); process.exit(1); });
