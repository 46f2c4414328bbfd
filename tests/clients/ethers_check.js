// ethers v6 against a Linen node: send a transfer, wait for it, read the receipt, follow blocks over WS.
// usage: node ethers_check.js HTTP_URL WS_URL PRIVATE_KEY ; prints one JSON object.
const { ethers } = require("ethers");

async function main() {
  const [httpUrl, wsUrl, key] = process.argv.slice(2);
  const provider = new ethers.JsonRpcProvider(httpUrl, undefined, { staticNetwork: true, batchMaxCount: 1 });
  const wallet = new ethers.Wallet(key, provider);
  const to = ethers.Wallet.createRandom().address;
  const network = await provider.getNetwork();
  const ws = new ethers.WebSocketProvider(wsUrl);
  const seenBlocks = [];
  await ws.on("block", (n) => seenBlocks.push(n));
  const tx = await wallet.sendTransaction({ to, value: ethers.parseEther("0.25") });
  const receipt = await tx.wait(1, 30000);
  const balance = await provider.getBalance(to);
  const fetched = await provider.getTransactionReceipt(tx.hash);
  const block = await provider.getBlock(receipt.blockNumber);
  const deadline = Date.now() + 10000;
  while (seenBlocks.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await ws.destroy();
  console.log(JSON.stringify({
    chainId: network.chainId.toString(),
    hash: tx.hash,
    status: receipt.status,
    blockNumber: receipt.blockNumber,
    gasUsed: receipt.gasUsed.toString(),
    fetchedHash: fetched.hash,
    blockHasTx: block.transactions.includes(tx.hash),
    balance: balance.toString(),
    wsBlocks: seenBlocks.length,
  }));
}

main().catch((err) => { console.error(err); process.exit(1); });
