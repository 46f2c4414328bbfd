// Linea's SDK (npm @consensys/linea-sdk 0.3.0) claiming one L2→L1 message on L1 through its
// L1ClaimingService, against any Linen rollup and L2 message service (the contract tests run it on anvil).
// usage: node linea_sdk_claim.js '{"l1", "l2", "rollup", "l2MessageService", "key", "messageHash"}' ;
// prints one JSON object: the path the SDK chose, the statuses before and after, the proof and the claim.
const { ethers } = require("ethers");
const { LineaSDK } = require("@consensys/linea-sdk");

async function main() {
  const args = JSON.parse(process.argv[2]);
  const rollup = ethers.getAddress(args.rollup);
  const l2Service = ethers.getAddress(args.l2MessageService);
  const sdk = new LineaSDK({ network: "localhost", mode: "read-write", l1RpcUrl: args.l1, l2RpcUrl: args.l2,
    l1SignerPrivateKey: args.key, l2SignerPrivateKey: args.key });
  const claiming = sdk.getL1ClaimingService(rollup, l2Service);
  const l2Contract = sdk.getL2Contract(l2Service);
  const hash = args.messageHash;
  const result = {
    migrationBlock: await claiming.findMigrationBlock(),
    proofPath: await claiming.isClaimingNeedingProof(hash),
    // the pre-migration read answers (UNKNOWN) instead of reverting
    legacyStatus: await claiming.getMessageStatusUsingMessageHash(hash),
    statusBefore: await claiming.getMessageStatus(hash),
  };
  const message = await l2Contract.getMessageByMessageHash(hash);
  const proof = await claiming.getMessageProof(hash);
  result.proof = { root: proof.root, leafIndex: proof.leafIndex, siblings: proof.proof };
  const receipt = await (await claiming.claimMessage(message)).wait();
  result.claim = { hash: receipt.hash, status: receipt.status };
  result.statusAfter = await claiming.getMessageStatus(hash);
  try {
    await claiming.estimateClaimMessageGas(message);
    result.secondClaim = "estimated";
  } catch (err) {
    result.secondClaim = String(err.message || err).slice(0, 300);
  }
  console.log(JSON.stringify(result));
}

main().then(() => process.exit(0)).catch((err) => { console.error(err); process.exit(1); });
