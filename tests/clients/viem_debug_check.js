// viem against a Linen node: getProof (EIP-1186) and createAccessList, parsed by viem's own formatters.
// node viem_debug_check.js RPC_URL ADDRESS SLOT FROM DATA  -> prints one JSON line
const { createPublicClient, http } = require("viem");

async function main() {
  const [url, address, slot, from, data] = process.argv.slice(2);
  const client = createPublicClient({ transport: http(url) });
  const proof = await client.getProof({ address, storageKeys: [slot] });
  const list = await client.createAccessList({ account: from, to: address, data });
  console.log(
    JSON.stringify({
      balance: proof.balance.toString(),
      nonce: proof.nonce,
      storageHash: proof.storageHash,
      accountProofLength: proof.accountProof.length,
      storageValue: proof.storageProof[0].value.toString(),
      storageProofLength: proof.storageProof[0].proof.length,
      accessList: list.accessList,
      gasUsed: list.gasUsed.toString(),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
