// viem against the Linen devnet, over HTTP and over WebSocket: five transfers sent back to back without
// waiting (each one's nonce from the pending count), then all five receipts; blocks followed over WS; and
// Multicall3 through viem's `multicall` with no address given: the chain definition carries it.
//
// The chain: viem's built-in Linea definition (its fee estimation through linea_estimateGas, its
// formatters) with the devnet's id and URLs, and `contracts.multicall3` at the canonical address
// (0xcA11…CA11, blockCreated 0: it is in the devnet genesis), which is how every built-in viem chain
// names Multicall3.
// usage: node viem_check.js '{"http": URL, "ws": URL, "key": HEX, "chainId": N}' ; prints one JSON object.
const {
  createPublicClient, createWalletClient, defineChain, http, webSocket, parseEther, parseAbi,
} = require("viem");
const { privateKeyToAccount, generatePrivateKey } = require("viem/accounts");
const { linea } = require("viem/linea");

const MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11";
const MULTICALL3_ABI = parseAbi([
  "function getBlockNumber() view returns (uint256 blockNumber)",
  "function getEthBalance(address addr) view returns (uint256 balance)",
  "function getChainId() view returns (uint256 chainid)",
]);

async function burst(chain, transport, account, label) {
  const wallet = createWalletClient({ account, chain, transport });
  const client = createPublicClient({ chain, transport });
  const recipients = Array.from({ length: 5 }, () => privateKeyToAccount(generatePrivateKey()).address);
  const started = await client.getTransactionCount({ address: account.address, blockTag: "pending" });
  const hashes = [];
  for (const [i, to] of recipients.entries()) {
    hashes.push(await wallet.sendTransaction({ to, value: parseEther("0.01") * BigInt(i + 1) }));
  }
  const receipts = await Promise.all(hashes.map((hash) => client.waitForTransactionReceipt({ hash, timeout: 60_000 })));
  const txs = await Promise.all(hashes.map((hash) => client.getTransaction({ hash })));
  // Multicall3: no multicallAddress here, viem takes chain.contracts.multicall3
  const results = await client.multicall({
    contracts: [
      { address: MULTICALL3, abi: MULTICALL3_ABI, functionName: "getChainId" },
      { address: MULTICALL3, abi: MULTICALL3_ABI, functionName: "getBlockNumber" },
      ...recipients.map((r) => ({ address: MULTICALL3, abi: MULTICALL3_ABI, functionName: "getEthBalance", args: [r] })),
    ],
  });
  return {
    transport: label,
    statuses: receipts.map((r) => r.status),
    nonces: txs.map((t) => t.nonce - started),
    blocks: receipts.map((r) => Number(r.blockNumber)),
    multicall: results.map((r) => (r.status === "success" ? r.result.toString() : `failure: ${r.error}`)),
    expectedBalances: recipients.map((_, i) => (parseEther("0.01") * BigInt(i + 1)).toString()),
  };
}

async function main() {
  const { http: httpUrl, ws: wsUrl, key, chainId } = JSON.parse(process.argv[2]);
  const chain = defineChain({
    ...linea,
    id: chainId,
    name: "Linen devnet",
    testnet: true,
    rpcUrls: { default: { http: [httpUrl], webSocket: [wsUrl] } },
    blockExplorers: undefined,
    contracts: { multicall3: { address: MULTICALL3, blockCreated: 0 } },
  });
  const account = privateKeyToAccount(key);
  const overHttp = await burst(chain, http(), account, "http");
  const wsTransport = webSocket();
  const watcher = createPublicClient({ chain, transport: wsTransport });
  const seen = [];
  const unwatch = watcher.watchBlockNumber({ onBlockNumber: (n) => seen.push(Number(n)), emitOnBegin: false });
  const overWs = await burst(chain, wsTransport, account, "ws");
  const deadline = Date.now() + 15_000;
  while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  unwatch();
  const socket = await watcher.transport.getRpcClient?.();
  if (socket) socket.close();
  console.log(JSON.stringify({ chainId: await watcher.getChainId(), runs: [overHttp, overWs], wsBlocks: seen.length }));
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });
