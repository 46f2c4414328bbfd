"""Linen's Poseidon2 tree hashes equal what Noir computes, so circuits can recompute the state tree.

Runs circuits/poseidon2_check (built on the circuits/linen_hash library) once through
tools/noir_run.mjs, i.e. compiled by the pinned @noir-lang/noir_wasm and executed by
@noir-lang/noir_js, on a seeded batch of inputs (random field elements, 0 and p-1, the shared known
answers, and leaves of a real tree), and compares every output with the Python reference hasher,
the Rust one, the tree itself and the shared vectors. The Noir packages come from `./run setup`
(`npm ci` in tools/); without them the test fails rather than skips, since CI always installs them.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from linen.state.hashers import NATIVE_AVAILABLE, POSEIDON2_BN254, Hasher, get_hasher
from linen.state.hashers.poseidon2 import R_BN254, permute
from linen.state.model import MAX_LEAF_INDEX, TREE_DEPTH, LeafOpening
from linen.state.proofs import path_root
from linen.state.tree import SparseMerkleTree

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
PROGRAM = ROOT / "circuits" / "poseidon2_check"
VECTORS_FILE = ROOT.parent / "shared" / "vectors" / "poseidon2" / "bn254.json"
NOIR_PACKAGES = ("@noir-lang/noir_wasm", "@noir-lang/noir_js")

MAX_LEN = 16  # the program's message size; `fixed` hashes these prefix lengths with a constant len
FIXED_LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8, 16)
P = R_BN254
SEED = 20250521

Permutation = Callable[[Sequence[int]], list[int]]


def _case_count() -> int:
    match = re.search(r"global CASES: u32 = (\d+);", (PROGRAM / "src" / "main.nr").read_text())
    assert match, "circuits/poseidon2_check/src/main.nr no longer declares `global CASES: u32 = N;`"
    return int(match.group(1))


def _load_vectors() -> dict | None:
    return json.loads(VECTORS_FILE.read_text()) if VECTORS_FILE.exists() else None


def _field(rng: random.Random) -> int:
    """A random field element, now and then one of the edge values."""
    roll = rng.random()
    if roll < 0.08:
        return 0
    if roll < 0.16:
        return P - 1
    return rng.randrange(P)


def _tree_leaves() -> list[dict]:
    """Cases opening real leaves (HEAD and an inserted one) of a small tree, with its true root."""
    tree = SparseMerkleTree(get_hasher(POSEIDON2_BN254, native=False))
    rng = random.Random(SEED + 1)
    for _ in range(3):
        tree.put(rng.randbytes(32), rng.randbytes(32))
    cases = []
    for index in (0, tree.next_free_node - 1):
        leaf = tree.leaf(index)
        assert leaf is not None
        words = [leaf.prev, leaf.next, int.from_bytes(leaf.hkey, "big"), int.from_bytes(leaf.hval, "big")]
        siblings = [int.from_bytes(s, "big") for s in tree.siblings(index)]
        cases.append(
            {
                "msg_head": words,
                "leaf_index": index,
                "siblings": siblings,
                "next_free_node": tree.next_free_node,
                "tree_root": int.from_bytes(tree.root, "big"),
            }
        )
    return cases


def _build_cases(count: int, vectors: dict | None) -> list[dict]:
    """`count` cases: shared vectors first (messages as prefixes, permutation inputs as states), then
    real-tree leaves, then all-zero and all-(p-1) cases (len 0 and MAX_LEN); everything else random.
    The other cases take the lengths 1..MAX_LEN-1 in a shuffled order, so with count >= MAX_LEN + 1
    every length occurs as a witness `len`."""
    rng = random.Random(SEED)
    hash_vectors = vectors["hash"] if vectors else []
    perm_vectors = vectors["permutation"] if vectors else []
    leaves = _tree_leaves()
    assert len(hash_vectors) + len(leaves) + 2 <= count and len(perm_vectors) + 2 <= count
    lengths = rng.sample(range(1, MAX_LEN), MAX_LEN - 1)
    cases = []
    for i in range(count):
        case = {
            "state": [_field(rng) for _ in range(4)],
            "msg": [_field(rng) for _ in range(MAX_LEN)],
            "len": lengths[i % len(lengths)],
            "leaf_index": rng.randrange(MAX_LEAF_INDEX + 1),
            "siblings": [_field(rng) for _ in range(TREE_DEPTH)],
            "next_free_node": rng.randrange(2, MAX_LEAF_INDEX + 2),
        }
        if i < len(perm_vectors):
            case["state"] = [int(x, 16) for x in perm_vectors[i]["input"]]
        if i < len(hash_vectors):
            words = [int(x, 16) for x in hash_vectors[i]["input"]]
            case["msg"][: len(words)] = words
        elif i - len(hash_vectors) < len(leaves):
            leaf = leaves[i - len(hash_vectors)]
            case["msg"][:4] = leaf["msg_head"]
            case.update({k: leaf[k] for k in ("leaf_index", "siblings", "next_free_node", "tree_root")})
        cases.append(case)
    zero, top = cases[-2], cases[-1]
    for case, value, length, index in ((zero, 0, 0, 0), (top, P - 1, MAX_LEN, MAX_LEAF_INDEX)):
        case.update(
            state=[value] * 4,
            msg=[value] * MAX_LEN,
            len=length,
            leaf_index=index,
            siblings=[value] * TREE_DEPTH,
            next_free_node=value,
        )
    return cases


def _noir_inputs(cases: list[dict]) -> dict:
    def hex_words(values: list[int]) -> list[str]:
        return [hex(v) for v in values]

    return {
        "cases": [
            {
                "state": hex_words(c["state"]),
                "msg": hex_words(c["msg"]),
                "len": c["len"],
                "leaf_index": str(c["leaf_index"]),
                "siblings": hex_words(c["siblings"]),
                "next_free_node": hex(c["next_free_node"]),
            }
            for c in cases
        ]
    }


def _run_noir(inputs: dict) -> list[dict]:
    missing = [name for name in NOIR_PACKAGES if not (TOOLS / "node_modules" / name / "package.json").exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed in tools/node_modules: run `./run setup` (npm ci in tools/)")
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node 20 and run `./run setup`")
    proc = subprocess.run(
        [node, str(TOOLS / "noir_run.mjs"), str(PROGRAM), "-"],
        input=json.dumps(inputs),
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"noir_run.mjs exited {proc.returncode}:\n{proc.stderr}"
    return json.loads(proc.stdout)


def _as_ints(value: object) -> object:
    """Noir's return value with every 0x-hex string as an int (its hex is not zero-padded)."""
    if isinstance(value, str):
        return int(value, 16)
    if isinstance(value, list):
        return [_as_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_ints(v) for k, v in value.items()}
    return value


def _expected(case: dict, hasher: Hasher, permutation: Permutation) -> dict:
    """What poseidon2_check must return for `case`, computed the way Linen's tree computes it."""

    def word(v: int) -> bytes:
        return v.to_bytes(32, "big")

    def h(values: Sequence[int]) -> int:
        return int.from_bytes(hasher.hash([word(v) for v in values]), "big")

    m = case["msg"]
    leaf = LeafOpening(m[0], m[1], word(m[2]), word(m[3])).hash(hasher)
    sub_root = path_root(hasher, case["leaf_index"], leaf, [word(s) for s in case["siblings"]])
    variable = h(m[: case["len"]])
    return {
        "permutation": permutation(case["state"]),
        "fixed": [h(m[:k]) for k in FIXED_LENGTHS],
        "variable": variable,
        "variable_unconstrained": variable,
        "branch": h(m[:2]),
        "leaf": int.from_bytes(leaf, "big"),
        "sub_root": int.from_bytes(sub_root, "big"),
        # SparseMerkleTree.root: H(nextFreeNode, subRoot)
        "root": int.from_bytes(hasher.hash([word(case["next_free_node"]), sub_root]), "big"),
    }


def _noir_batch() -> tuple[list[dict], list[dict]]:
    """The cases and Noir's outcomes for them, from one compilation and one execution."""
    cases = _build_cases(_case_count(), _load_vectors())
    outcomes = _as_ints(_run_noir(_noir_inputs(cases)))
    assert isinstance(outcomes, list) and len(outcomes) == len(cases)
    return cases, outcomes


def _assert_all_equal(
    cases: list[dict], outcomes: list[dict], hasher: Hasher, permutation: Permutation, label: str
) -> None:
    for i, (case, outcome) in enumerate(zip(cases, outcomes, strict=True)):
        expected = _expected(case, hasher, permutation)
        assert outcome == expected, f"Noir != {label} in case {i} (len={case['len']}, msg={case['msg']})"


def _native_permute(state: Sequence[int]) -> list[int]:
    from linen.state.hashers.native import poseidon2_permutation

    return [int.from_bytes(w, "big") for w in poseidon2_permutation([v.to_bytes(32, "big") for v in state])]


def _assert_vectors(outcomes: list[dict], vectors: dict) -> None:
    for outcome, vector in zip(outcomes, vectors["permutation"], strict=False):
        assert outcome["permutation"] == [int(x, 16) for x in vector["output"]], f"permutation {vector['input']}"
    for outcome, vector in zip(outcomes, vectors["hash"], strict=False):
        length = len(vector["input"])
        assert length in FIXED_LENGTHS, f"vector length {length} is not among the program's fixed lengths"
        assert outcome["fixed"][FIXED_LENGTHS.index(length)] == int(vector["output"], 16), f"hash {vector['input']}"


def test_noir_poseidon2_agrees_with_linen():
    """One test, not four, so that pytest-xdist cannot compile and run the program twice."""
    cases, outcomes = _noir_batch()
    _assert_all_equal(cases, outcomes, get_hasher(POSEIDON2_BN254, native=False), permute, "the Python reference")

    tree_cases = [(c, o) for c, o in zip(cases, outcomes, strict=True) if "tree_root" in c]
    assert tree_cases
    for case, outcome in tree_cases:
        assert outcome["root"] == case["tree_root"], f"Noir != SparseMerkleTree.root through leaf {case['leaf_index']}"

    if NATIVE_AVAILABLE:
        native = get_hasher(POSEIDON2_BN254, native=True)
        _assert_all_equal(cases, outcomes, native, _native_permute, "the native hasher")
    else:
        warnings.warn("linen_native is not built (./run setup builds it): Noir not compared with it", stacklevel=1)

    vectors = _load_vectors()
    if vectors is not None:
        _assert_vectors(outcomes, vectors)
    else:
        warnings.warn(f"{VECTORS_FILE} not found: Noir not compared with the shared vectors", stacklevel=1)
