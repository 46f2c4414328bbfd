// Linea's SDK (npm @consensys/linea-sdk 0.3.0, unmodified) against the Linen devnet: a deposit (L1 → L2)
// claimed on L2 with the SDK's L2 contract, and a withdrawal (L2 → L1) claimed on L1 through its
// L1ClaimingService (which finds the finalization, rebuilds the Merkle tree from L2's MessageSent events
// and calls claimMessageWithProof). Both messages pay the claimer nothing, so the devnet's postman leaves
// them to their owner (ZERO_FEE), and the SDK does the claiming.
// usage: node linea_sdk_bridge.js '{"l1", "l2", "rollup", "l2MessageService", "key", "timeout"}' ;
// prints one JSON object.
const { ethers } = require("ethers");
const { LineaSDK, OnChainMessageStatus } = require("@consensys/linea-sdk");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

async function main() {
  const args = JSON.parse(process.argv[2]);
  const timeoutMs = (args.timeout || 120) * 1000;
  // the SDK compares log addresses with these strings as given: use the checksummed form ethers reports
  const rollup = ethers.getAddress(args.rollup);
  const l2Service = ethers.getAddress(args.l2MessageService);
  const sdk = new LineaSDK({
    network: "localhost",
    mode: "read-write",
    l1RpcUrl: args.l1,
    l2RpcUrl: args.l2,
    l1SignerPrivateKey: args.key,
    l2SignerPrivateKey: args.key,
  });
  const l1Contract = sdk.getL1Contract(rollup, l2Service);
  const l2Contract = sdk.getL2Contract(l2Service);
  const claiming = sdk.getL1ClaimingService(rollup, l2Service);
  const l1 = new ethers.JsonRpcProvider(args.l1);
  const l2 = new ethers.JsonRpcProvider(args.l2);
  const value = ethers.parseEther("0.05");
  const result = {};

  // -- deposit: L1 sendMessage, anchored on L2 by the coordinator, claimed on L2 by the SDK -----------
  const depositTo = ethers.Wallet.createRandom().address;
  const sent = await (await l1Contract.contract.sendMessage(depositTo, 0n, "0x", { value })).wait();
  const [deposit] = await l1Contract.getMessagesByTransactionHash(sent.hash);
  result.depositHash = deposit.messageHash;
  await waitFor("the deposit to be anchored on L2", async () =>
    (await l2Contract.getMessageStatus(deposit.messageHash)) === OnChainMessageStatus.CLAIMABLE, timeoutMs);
  const depositClaim = await (await l2Contract.claim(deposit)).wait();
  result.depositClaim = { hash: depositClaim.hash, status: depositClaim.status, to: depositClaim.to };
  result.depositStatus = await l2Contract.getMessageStatus(deposit.messageHash);
  result.depositBalance = (await l2.getBalance(depositTo)).toString();

  // -- withdrawal: L2 sendMessage (its fee is the minimum fee only), finalized on L1, claimed on L1 -----
  const withdrawTo = ethers.Wallet.createRandom().address;
  const minimumFee = await l2Contract.contract.minimumFeeInWei();
  const sentL2 = await (await l2Contract.contract.sendMessage(withdrawTo, minimumFee, "0x",
    { value: value + minimumFee })).wait();
  const [withdrawal] = await l2Contract.getMessagesByTransactionHash(sentL2.hash);
  result.withdrawalHash = withdrawal.messageHash;
  result.withdrawalFee = withdrawal.fee.toString();
  result.proofPath = await claiming.isClaimingNeedingProof(withdrawal.messageHash);
  result.statusBeforeFinalization = await claiming.getMessageStatus(withdrawal.messageHash);
  await waitFor("the withdrawal's L2 block to be finalized on L1", async () =>
    (await claiming.getMessageStatus(withdrawal.messageHash)) === OnChainMessageStatus.CLAIMABLE, timeoutMs);
  const proof = await claiming.getMessageProof(withdrawal.messageHash);
  result.proof = { root: proof.root, leafIndex: proof.leafIndex, depth: proof.proof.length };
  result.estimatedGas = (await claiming.estimateClaimMessageGas(withdrawal)).toString();
  const withdrawalClaim = await (await claiming.claimMessage(withdrawal)).wait();
  result.withdrawalClaim = { hash: withdrawalClaim.hash, status: withdrawalClaim.status, to: withdrawalClaim.to };
  result.withdrawalStatus = await claiming.getMessageStatus(withdrawal.messageHash);
  result.withdrawalBalance = (await l1.getBalance(withdrawTo)).toString();
  result.value = value.toString();
  console.log(JSON.stringify(result));
}

main().then(() => process.exit(0)).catch((err) => { console.error(err); process.exit(1); });
