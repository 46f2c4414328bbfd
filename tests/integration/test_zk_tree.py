"""The proof tree for real: segment proofs, a merge, the root, and bb's Solidity verifier on anvil.

Two blocks of plain transfers on a Poseidon2 state tree become three one-transfer segments (the
smallest segment circuit, K = 1), two merges and the root, proven by bb under a Linen SRS; the root
proof is accepted by the patched HonkVerifier against the finalization public input that
`compute_public_input` (LinenRollup's formula) gives. Then the attacks: witnesses that break the
statement (another key's signature, value over balance, wrong nonce, a Merkle path that does not
open, a wrong coinbase credit) are refused; a merge refuses non-adjacent children and a valid proof
of another circuit and a tampered child proof; the EVM verifier refuses a tampered root proof and
another public input, and the ZkRootVerifier (proof type 1) refuses a proof over other segment or
merge circuits or of another chain.

One test function, so that pytest-xdist does not compile and key the circuits twice.
"""

from __future__ import annotations

import copy
import time

import pytest

# Compiling and keying four circuits and proving eight proofs takes ~4 min alone, more beside other tests.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

CHAIN_ID = 59144
SRS_POINTS = 2**21 + 1


def _signed(account, **fields):
    from linen.execution.transactions import decode_transaction

    return decode_transaction(bytes(account.sign_transaction({"chainId": CHAIN_ID, **fields}).raw_transaction), CHAIN_ID)


def _chain():
    """A funded tree and two blocks of transfers covering the three types, INSERT and UPDATE."""
    from eth_account import Account

    from linen.state.encoding import EMPTY_KECCAK_CODE_HASH, AccountValue, code_hash
    from linen.state.hashers import get_hasher
    from linen.state.tree import SparseMerkleTree, empty_root

    hasher = get_hasher("poseidon2-bn254")
    tree = SparseMerkleTree(hasher)
    alice, bob, carol = (Account.from_key(bytes([i]) * 32) for i in (1, 2, 3))
    for who in (alice, bob):
        tree.put(bytes.fromhex(who.address[2:]),
                 AccountValue(0, 10**20, empty_root(hasher.name), code_hash(hasher, b""), EMPTY_KECCAK_CODE_HASH, 0).encode())
    newcomer = bytes.fromhex("42" * 20)
    block1 = [
        _signed(alice, nonce=0, gasPrice=10**9, gas=21000, to=newcomer, value=5 * 10**17),  # legacy, INSERT
        _signed(bob, type=2, nonce=0, maxFeePerGas=2 * 10**9, maxPriorityFeePerGas=10**7, gas=21000,
                to=alice.address, value=3, accessList=[]),  # EIP-1559, UPDATE
    ]
    block2 = [_signed(alice, type=1, nonce=1, gasPrice=10**9, gas=25000, to=carol.address, value=10**18, accessList=[])]
    return tree, hasher, (alice, bob, carol), block1, block2


def test_segments_merges_root_verified_on_anvil(tmp_path):
    from web3 import Web3

    from linen.l1.anvil import ANVIL_FIRST_KEY, launch_anvil
    from linen.l1.zk_verifier import call_verify, compile_verifier, deploy_verifier
    from linen.protocol.public_input import FinalizationPublicInputFields, compute_public_input
    from linen.protocol.shnarf import compute_shnarf
    from linen.zk import srs
    from linen.zk.proof_tree import TreeProver, segment_project
    from linen.zk.segment_witness import BlockContext, SegmentBuilder
    from linen.zk.toolchain import ExecutionFailed, Toolchain, UnsatisfiedWitness

    srs.ensure_dev_srs(tmp_path / "srs", SRS_POINTS)
    tc = Toolchain(tmp_path / "cache", tmp_path / "srs")
    started = time.monotonic()
    prover = TreeProver(tc, tmp_path / "jobs", segment_project(1, tmp_path / "circuits"))
    print(f"\ncompile and key: {time.monotonic() - started:.1f} s, vk hashes {[hex(h) for h in prover.vk_hashes]}")

    tree, hasher, (alice, bob, carol), block1, block2 = _chain()
    coinbase = bytes.fromhex("c0" * 20)
    b1 = BlockContext(1, 1_700_000_000, 7, coinbase, len(block1))
    b2 = BlockContext(2, 1_700_000_002, 7, coinbase, len(block2))
    genesis_root = tree.root
    builder = SegmentBuilder(tree, CHAIN_ID, 1)
    s1, in1 = builder.segment(b1, block1[:1], 0, 0, prover.vk_hashes)
    s2, in2 = builder.segment(b1, block1[1:], 1, s1.tx_hash_end, prover.vk_hashes)
    s3, in3 = builder.segment(b2, block2, 0, s2.tx_hash_end, prover.vk_hashes)
    final_root = tree.root

    # Witnesses that break the statement yield no proof.
    other = copy.deepcopy(in1)
    other["transfers"][0]["pub_x"], other["transfers"][0]["pub_y"] = in2["transfers"][0]["pub_x"], in2["transfers"][0]["pub_y"]
    rich = copy.deepcopy(in1)
    rich["transfers"][0]["value"] = str(10**20)
    nonce = copy.deepcopy(in1)
    nonce["transfers"][0]["nonce"] = "1"
    path = copy.deepcopy(in1)
    path["transfers"][0]["sender"]["siblings"][7] = "0x1234"
    # a final root that credits the coinbase one wei more than the tips
    from dataclasses import replace as _replace

    from linen.state.encoding import AccountValue

    tree2, _, _, again, _ = _chain()
    _, credit = SegmentBuilder(tree2, CHAIN_ID, 1).segment(b1, again[:1], 0, 0, prover.vk_hashes)
    paid = AccountValue.decode(tree2.get(coinbase))
    tree2.put(coinbase, _replace(paid, balance=paid.balance + 1).encode())
    credit["public"][1] = "0x" + tree2.root.hex()
    cases = {"another key's signature": other, "value over balance": rich, "wrong nonce": nonce,
             "a Merkle path that does not open": path, "a wrong coinbase credit": credit}
    for label, bad in cases.items():
        with pytest.raises(ExecutionFailed):
            tc.execute(prover.segment, bad, tmp_path / "bad.gz")
        print(f"refused: {label}")

    p1, p2, p3 = (prover.prove_segment(s, i) for s, i in ((s1, in1), (s2, in2), (s3, in3)))
    print(f"segments (K=1): {[round(p.seconds, 1) for p in (p1, p2, p3)]} s")

    # A merge takes adjacent children only, and only proofs of the tree's circuits.
    from dataclasses import replace

    swapped = replace(p2.statement, final_root=p1.statement.final_root, tx_hash_end=p1.statement.tx_hash_end,
                      last=p1.statement.last)
    with pytest.raises(ExecutionFailed, match="merge"):
        prover.prove_merge(p2, p1, claimed=swapped)
    print("merge refused non-adjacent children")
    k2 = TreeProver(tc, tmp_path / "jobs2", segment_project(2, tmp_path / "circuits"))
    foreign_statement, foreign_inputs = SegmentBuilder(_chain()[0], CHAIN_ID, 2).segment(
        b1, block1[:1], 0, 0, prover.vk_hashes)
    foreign = k2.prove_segment(foreign_statement, foreign_inputs)  # valid, but of the K=2 circuit
    assert foreign.statement == s1
    for label, child in (("its own vk", foreign),
                         ("the segment's key hash", type(foreign)(foreign.statement, foreign.proof,
                                                                   type(foreign.key)(foreign.key.fields, p1.key.hash), 0))):
        with pytest.raises((ExecutionFailed, UnsatisfiedWitness)):
            prover.prove_merge(child, p2)
        print(f"merge refused a proof of another circuit with {label}")

    # A merge verifies its children in-circuit: one flipped proof word and it cannot be proven (a limb
    # of the pairing points: bb asserts; a sumcheck value: the in-circuit check fails).
    for at in (10, len(p1.proof) // 2):
        flipped = hex(int(p1.proof[at], 16) ^ 1)
        with pytest.raises(UnsatisfiedWitness):
            prover.prove_merge(replace(p1, proof=[*p1.proof[:at], flipped, *p1.proof[at + 1:]]), p2)
        print(f"merge refused a child proof with word {at} of {len(p1.proof)} tampered")

    m12 = prover.prove_merge(p1, p2)
    top = prover.prove_merge(m12, p3)
    assert top.statement.parent_root == int.from_bytes(genesis_root, "big")
    assert top.statement.final_root == int.from_bytes(final_root, "big")
    print(f"merges: {m12.seconds:.1f} s, {top.seconds:.1f} s")

    # Linen's own verifier (linen/zk/honk.py): every proof of the tree holds for its key and statement
    # under this SRS's [tau]_2 (the merges' proofs carry their children's pairing points), and not
    # for another key or statement.
    from linen.zk import honk

    g2 = (tmp_path / "srs" / "bn254_g2.dat").read_bytes()
    vks = {p1.key.hash: tc.write_vk(prover.segment, "noir-recursive").read_bytes(),
           m12.key.hash: tc.write_vk(prover.merge, "noir-recursive").read_bytes()}

    def native(p, vk=None, statement=None, fields=None):  # type: ignore[no-untyped-def]
        data = b"".join(int(w, 16).to_bytes(32, "big") for w in p.proof)
        fields = fields if fields is not None else (statement or p.statement).fields()
        public = b"".join(f.to_bytes(32, "big") for f in fields)
        return honk.verify("noir-recursive", vk or vks[p.key.hash], data, public, g2)

    for made in (p1, p2, p3, m12, top):
        assert native(made) is None
    for made in (p1, m12):  # each public input changed by one
        fields = list(made.statement.fields())
        for i in range(len(fields)):
            changed = [*fields[:i], (fields[i] + 1) % (1 << 253), *fields[i + 1:]]
            assert native(made, fields=changed) is not None, f"public input {i} of {len(fields)}"
    assert native(foreign, vk=vks[p1.key.hash]) is not None  # a K=2 proof against the K=1 key
    assert native(p1, statement=p2.statement) is not None
    assert native(m12, vk=vks[p1.key.hash]) is not None
    assert native(top, statement=m12.statement) is not None

    # The root: the aggregation's two blobs end at the proven root; the genesis shnarf opens to the parent.
    zero = bytes(32)
    last_shnarf = compute_shnarf(zero, zero, genesis_root, zero, zero)
    blobs = [(b"\x01" * 32, tree_root_mid := int.to_bytes(s2.final_root, 32, "big"), b"\x02" * 32, b"\x03" * 32),
             (b"\x04" * 32, final_root, b"\x05" * 32, b"\x06" * 32)]
    shnarf = last_shnarf
    for snark, root, x, y in blobs:
        shnarf = compute_shnarf(shnarf, snark, root, x, y)
    fields = FinalizationPublicInputFields(
        last_finalized_shnarf=last_shnarf, final_shnarf=shnarf, last_finalized_timestamp=1_699_999_999,
        final_timestamp=b2.timestamp, last_finalized_block_number=0, end_block_number=2,
        last_finalized_l1_rolling_hash=zero, l1_rolling_hash=zero,
        last_finalized_l1_rolling_hash_message_number=0, l1_rolling_hash_message_number=0,
        l2_merkle_trees_depth=5, l2_merkle_roots=())
    public_input = compute_public_input(fields)

    def blob(snark, root, x, y):
        return {"snark_hash": [str(b) for b in snark], "final_state_root": "0x" + bytes(root).hex(),
                "x": [str(b) for b in x], "y": [str(b) for b in y]}

    padding = blob(zero, zero, zero, zero)
    root_inputs = {
        "public_input": hex(public_input),
        "parent_shnarf_parent": [str(b) for b in zero],
        "parent_blob": blob(zero, genesis_root, zero, zero),
        "blobs": [blob(*b) for b in blobs] + [padding, padding],
        "blob_count": "2",
        "last_finalized_timestamp": hex(fields.last_finalized_timestamp),
        "last_finalized_block_number": "0x0",
        "l1_rolling_hash": [str(b) for b in zero],
        "l1_rolling_hash_message_number": "0x0",
        "l2_merkle_trees_depth": "0x5",
    }
    wrong = dict(root_inputs, public_input=hex(public_input ^ 1))
    with pytest.raises(ExecutionFailed):
        prover.prove_root(top, wrong)
    proof, public, seconds = prover.prove_root(top, root_inputs)
    assert [int(x, 16) for x in public] == [public_input, *prover.vk_hashes, CHAIN_ID]
    print(f"root: {seconds:.1f} s, {len(proof)} bytes")
    assert tree_root_mid

    build = compile_verifier(tc.solidity_verifier(prover.root), tmp_path / "sol")
    anvil = launch_anvil(None)
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        verifier = deploy_verifier(w3, ANVIL_FIRST_KEY, build)
        words = [int(x, 16).to_bytes(32, "big") for x in public]
        verdict = call_verify(w3, verifier, build, proof, words)
        assert verdict.accepted, verdict
        print(f"root verified on anvil: {verdict.gas} gas")
        tampered = proof[:1000] + bytes([proof[1000] ^ 1]) + proof[1001:]
        assert not call_verify(w3, verifier, build, tampered, words).accepted
        another = [(public_input ^ 1).to_bytes(32, "big"), *words[1:]]
        assert not call_verify(w3, verifier, build, proof, another).accepted
        root_vk = tc.write_vk(prover.root, "evm").read_bytes()
        for p, pi in ((proof, words), (tampered, words), (proof, another)):  # Linen's verdict = L1's
            assert (honk.verify("evm", root_vk, p, pi, g2) is None) == call_verify(w3, verifier, build, p, pi).accepted

        # The rollup's proof type 1: ZkRootVerifier fixes the key hashes and the chain id around bb's verifier.
        from web3.exceptions import ContractLogicError

        from linen.l1.artifacts import compile_contracts
        from linen.l1.transact import deploy
        from tests.helpers import ROOT

        artifacts = compile_contracts(ROOT / ".pytest_cache" / "l1-contracts")
        seg_hash, merge_hash = prover.vk_hashes

        def zk_root_verifier(*bound):
            address = deploy(w3, ANVIL_FIRST_KEY, artifacts["ZkRootVerifier"], verifier, *bound)
            return w3.eth.contract(address=address, abi=artifacts["ZkRootVerifier"].abi)

        def accepts(contract, proof_bytes, pi):
            try:
                return contract.functions.Verify(proof_bytes, [pi]).call()
            except ContractLogicError:  # bb's verifier reverts on a false proof (SumcheckFailed, ...)
                return False

        deployed = zk_root_verifier(seg_hash, merge_hash, CHAIN_ID)
        assert accepts(deployed, proof, public_input)
        gas = deployed.functions.Verify(proof, [public_input]).estimate_gas()
        print(f"ZkRootVerifier.Verify: {gas} gas (eth_estimateGas, with the call's intrinsic cost)")
        assert not accepts(deployed, tampered, public_input)
        assert not accepts(deployed, proof, public_input ^ 1)
        for label, bound in (("another segment circuit", (seg_hash ^ 1, merge_hash, CHAIN_ID)),
                             ("another merge circuit", (seg_hash, merge_hash ^ 1, CHAIN_ID)),
                             ("another chain", (seg_hash, merge_hash, CHAIN_ID + 1))):
            assert not accepts(zk_root_verifier(*bound), proof, public_input), label
            print(f"ZkRootVerifier bound to {label} refuses the proof")
        with pytest.raises(ContractLogicError):  # WrongPublicInputCount(1, 2)
            deployed.functions.Verify(proof, [public_input, 0]).call()

        # The prover's own check before a root proof is written: the same eth_call, refusals named.
        from types import SimpleNamespace

        from linen.prover.backends.zk import ZkWitnessRefused, check_on_l1

        settings = SimpleNamespace(l1_rpc=anvil.url, zk_verifier_address=deployed.address)
        check_on_l1(settings, proof, public_input)
        for bad_proof, pi in ((tampered, public_input), (proof, public_input ^ 1)):
            with pytest.raises(ZkWitnessRefused, match="refuses the root proof"):
                check_on_l1(settings, bad_proof, pi)
    finally:
        anvil.stop()
