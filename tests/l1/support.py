"""Helpers for the contract tests: a deployed rollup on a real anvil, and reverts named by their error."""

from __future__ import annotations

from dataclasses import dataclass, field

from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

from linen.devaccounts import dev_account
from linen.l1.artifacts import Artifact
from linen.l1.blobs import send_blob_transaction
from linen.l1.deploy import L1Settings, deploy_l1
from linen.l1.finalization import FinalizationData, ShnarfData
from linen.l1.transact import decode_revert, transact
from linen.protocol.attestation import sign_attestation
from linen.protocol.blob.kzg import PreparedBlob, prepare_blobs, random_blob, submit_blobs_args
from linen.protocol.shnarf import genesis_shnarf

ADMIN = dev_account(0)
OPERATOR = dev_account(1)
PROVERS = (dev_account(5), dev_account(6), dev_account(7))
ATTACKER = dev_account(9)
GENESIS_STATE_ROOT = bytes.fromhex("07" * 32)


def revert_of(call, artifacts: dict[str, Artifact], sender: str, value: int = 0, blob_hashes=None) -> tuple:
    """(error name, args) that `call` reverts with when `sender` sends it; fails if it does not revert."""
    tx = {"from": sender, "value": value}
    if blob_hashes is not None:
        tx.update(type=3, maxFeePerBlobGas=10**10, blobVersionedHashes=["0x" + h.hex() for h in blob_hashes])
    try:
        call.call(tx)
    except (ContractCustomError, ContractLogicError) as exc:
        return decode_revert(exc.data or "0x", [a.abi for a in artifacts.values()])
    raise AssertionError("call did not revert")


@dataclass
class RollupEnv:
    """A fresh rollup (threshold 2 of 3 provers) with its helpers, on a shared anvil."""

    w3: Web3
    artifacts: dict[str, Artifact]
    genesis_timestamp: int
    rollup: object = None
    verifier: object = None
    blob_counter: int = field(default=0)

    @classmethod
    def deploy(cls, w3: Web3, artifacts: dict[str, Artifact], **settings) -> RollupEnv:
        genesis_timestamp = w3.eth.get_block("latest")["timestamp"] - 1000
        options = dict(
            initial_state_root=GENESIS_STATE_ROOT,
            genesis_timestamp=genesis_timestamp,
            operators=(OPERATOR.address,),
            prover_addresses=tuple(p.address for p in PROVERS),
            attestation_threshold=2,
            pausers=(ADMIN.address,),
        )
        options.update(settings)
        deployment = deploy_l1(w3, ADMIN.private_key, artifacts, L1Settings(**options))
        env = cls(w3, artifacts, genesis_timestamp)
        env.rollup = w3.eth.contract(address=deployment.rollup, abi=artifacts["LinenRollup"].abi)
        env.verifier = w3.eth.contract(address=deployment.verifiers[0], abi=artifacts["AttestationVerifier"].abi)
        return env

    @property
    def genesis_shnarf(self) -> bytes:
        return genesis_shnarf(GENESIS_STATE_ROOT)

    def revert(self, call, sender=OPERATOR, value: int = 0, blob_hashes=None) -> tuple:
        return revert_of(call, self.artifacts, sender.address, value, blob_hashes)

    def send(self, call, sender=OPERATOR, value: int = 0) -> dict:
        return transact(self.w3, sender.private_key, call, value)

    def prepare(self, count: int, parent: bytes | None = None) -> list[PreparedBlob]:
        """`count` fresh random blobs chained onto `parent` (default: the genesis shnarf)."""
        seeds = range(self.blob_counter, self.blob_counter + count)
        self.blob_counter += count
        return prepare_blobs(
            [random_blob(s) for s in seeds],
            [Web3.keccak(text=f"snark {s}") for s in seeds],
            [Web3.keccak(text=f"root {s}") for s in seeds],
            parent or self.genesis_shnarf,
        )

    def submit_blobs(self, prepared: list[PreparedBlob]) -> dict:
        call = self.rollup.functions.submitBlobs(*submit_blobs_args(prepared))
        data = call.build_transaction({"from": OPERATOR.address, "gas": 1})["data"]
        return send_blob_transaction(
            self.w3, OPERATOR.private_key, self.rollup.address, bytes.fromhex(data[2:]), [p.blob for p in prepared]
        )

    def finalization_for(self, last_blob: PreparedBlob, end_block: int, **fields) -> FinalizationData:
        """Finalization data of blocks up to `end_block` ending at `last_blob`, from the chain's current state."""
        current = self.rollup.functions.currentL2BlockNumber().call()
        values = dict(
            parent_state_root=self.rollup.functions.stateRootHashes(current).call(),
            end_block_number=end_block,
            shnarf_data=last_blob
            and ShnarfData(
                last_blob.parent_shnarf, last_blob.snark_hash, last_blob.final_state_root, last_blob.x, last_blob.y
            ),
            last_finalized_timestamp=self.genesis_timestamp,
            final_timestamp=self.genesis_timestamp + 10,
        )
        values.update(fields)
        return FinalizationData(**values)

    def attest(self, data: FinalizationData, provers=PROVERS[:2]) -> bytes:
        """Signatures of `provers` over the public input the oracle computes for `data`."""
        last_shnarf = self.rollup.functions.currentFinalizedShnarf().call()
        last_block = self.rollup.functions.currentL2BlockNumber().call()
        public_input = data.public_input(last_shnarf, last_block)
        return sign_attestation(
            [p.private_key for p in provers], self.w3.eth.chain_id, self.verifier.address, public_input
        )

    def finalize_call(self, data: FinalizationData, proof: bytes | None = None, proof_type: int = 0):
        proof = self.attest(data) if proof is None else proof
        return self.rollup.functions.finalizeBlocks(proof, proof_type, data.as_abi())


def events(contract, name: str, receipt: dict) -> list:
    """Decoded `name` events of `contract` in `receipt` (other contracts' logs ignored)."""
    from web3.logs import DISCARD

    return list(getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD))


def address_bytes(address: str) -> bytes:
    return bytes.fromhex(address[2:])


ANCHORER = dev_account(2)
POSTMAN = dev_account(3)
USER = dev_account(4)


def deploy_l2_service(w3: Web3, artifacts: dict[str, Artifact], minimum_fee: int = 10**14, **settings):
    """A fresh L2 message service (ANCHORER anchors) holding 100 ETH to pay claims, as if from genesis."""
    from linen.l1.deploy import L2Settings, deploy_l2

    address = deploy_l2(
        w3, ADMIN.private_key, artifacts, L2Settings(ANCHORER.address, minimum_fee_wei=minimum_fee, **settings)
    )
    w3.provider.make_request("anvil_setBalance", [address, hex(100 * 10**18)])
    return w3.eth.contract(address=address, abi=artifacts["L2MessageService"].abi)


def deploy_receiver(w3: Web3, test_artifacts: dict[str, Artifact]):
    from linen.l1.transact import deploy

    artifact = test_artifacts["MessageReceiver"]
    return w3.eth.contract(address=deploy(w3, ADMIN.private_key, artifact), abi=artifact.abi)
