"""bb's Solidity verifier on an EVM: compile it with the pinned solc-js, deploy it, call `verify`.

This is how a proof made under Linen's SRS is checked (bb's own `verify` pairs against Aztec's G2,
see linen/zk/toolchain.py): the generated HonkVerifier with the SRS's [tau]_2 patched in, run by the
EVM's pairing precompile. A rejected proof reverts with one of the verifier's custom errors
(SumcheckFailed, ShpleminiFailed, ProofLengthWrongWithLogN, ...), which `call_verify` names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from eth_hash.auto import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

from linen.l1.artifacts import Artifact, compile_contracts
from linen.l1.transact import decode_revert, deploy

CONTRACT = "HonkVerifier"


SOURCE_UNIT = f"{CONTRACT}.sol"


@dataclass(frozen=True)
class VerifierBuild:
    """The compiled verifier: HonkVerifier and the libraries it calls (ZKTranscriptLib and
    RelationsLib have public functions, so they are deployed apart and linked)."""

    artifacts: dict[str, Artifact]

    @property
    def verifier(self) -> Artifact:
        return self.artifacts[CONTRACT]

    @property
    def abi(self) -> list:
        return self.verifier.abi

    @property
    def bytecode(self) -> str:
        return self.verifier.bytecode

    def linked_libraries(self, artifact: Artifact | None = None) -> list[str]:
        """Names of the libraries `artifact` (default: the verifier) needs linked, recursively."""
        code = (artifact or self.verifier).bytecode
        found = []
        for name, lib in self.artifacts.items():
            if library_placeholder(name) in code:
                found += [n for n in self.linked_libraries(lib) if n not in found] + [name]
        return list(dict.fromkeys(found))

    @property
    def deployed_size(self) -> int:
        """Runtime bytes of the verifier and its linked libraries together."""
        return self.verifier.deployed_size + sum(self.artifacts[n].deployed_size for n in self.linked_libraries())


def library_placeholder(name: str, source_unit: str = SOURCE_UNIT) -> str:
    """solc's link placeholder for library `name` of `source_unit`: __$ keccak256(unit:name)[:17 bytes] $__."""
    return "__$" + keccak(f"{source_unit}:{name}".encode()).hex()[:34] + "$__"


def compile_verifier(source: str, cache_dir: Path) -> VerifierBuild:
    """The HonkVerifier of `source` and its libraries, compiled once per source text under `cache_dir`."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    src_dir = Path(cache_dir) / "verifier-src" / digest
    if not (src_dir / SOURCE_UNIT).exists():
        src_dir.mkdir(parents=True, exist_ok=True)
        (src_dir / SOURCE_UNIT).write_text(source)
    return VerifierBuild(compile_contracts(Path(cache_dir) / "verifier-out", src_dir))


@dataclass(frozen=True)
class OnChainVerdict:
    accepted: bool
    gas: int | None  # eth_estimateGas of the call, when it did not revert
    error: str | None  # the custom error (or reason) it reverted with

    def __bool__(self) -> bool:
        return self.accepted


def deploy_verifier(w3: Web3, private_key: str, build: VerifierBuild) -> str:
    """Deploy the libraries the verifier needs, link them, deploy the verifier; returns its address."""
    addresses: dict[str, str] = {}

    def linked(artifact: Artifact) -> Artifact:
        code = artifact.bytecode
        for name in build.linked_libraries(artifact):
            if name not in addresses:
                addresses[name] = deploy(w3, private_key, linked(build.artifacts[name]))
            code = code.replace(library_placeholder(name), addresses[name][2:].lower())
        if "__$" in code:
            raise ValueError(f"{artifact.name} still has an unlinked library placeholder")
        return Artifact(artifact.name, artifact.abi, code, artifact.deployed_bytecode)

    return deploy(w3, private_key, linked(build.verifier))


def call_verify(
    w3: Web3, address: str, build: VerifierBuild, proof: bytes, public_inputs: list[bytes]
) -> OnChainVerdict:
    """`verify(proof, publicInputs)` as an eth_call, and its gas if it succeeds."""
    artifact = build.verifier
    contract = w3.eth.contract(address=address, abi=artifact.abi)
    call = contract.functions.verify(proof, [bytes(w).rjust(32, b"\0") for w in public_inputs])
    try:
        ok = call.call()
    except (ContractCustomError, ContractLogicError) as exc:
        data = getattr(exc, "data", None)
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            name, args = decode_revert(data, [artifact.abi])
            return OnChainVerdict(False, None, f"{name}{args if args else ''}")
        return OnChainVerdict(False, None, str(exc))
    if not ok:
        return OnChainVerdict(False, None, "verify returned false")
    return OnChainVerdict(True, call.estimate_gas(), None)
