// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IProofVerifier} from "../interfaces/IProofVerifier.sol";

/// @notice bb's generated verifier of the root circuit (UltraHonk, keccak transcript).
interface IHonkVerifier {
    function verify(bytes calldata proof, bytes32[] calldata publicInputs) external view returns (bool);
}

/// @notice Proof type 1: a validity proof of the finalization public input, made by Linen's proof tree
/// (segments of transfers, binary merges, the root circuit) and checked by bb's root verifier.
/// @dev The root circuit's public inputs are [publicInput, segmentVkHash, mergeVkHash, chainId]. The
/// last three are fixed here at deployment, so a root proof over a tree of any other segment or merge
/// circuit, or of another L2 chain, is refused even though the root circuit itself would accept it.
contract ZkRootVerifier is IProofVerifier {
    IHonkVerifier public immutable honkVerifier;
    bytes32 public immutable segmentVkHash;
    bytes32 public immutable mergeVkHash;
    bytes32 public immutable l2ChainId;

    error WrongPublicInputCount(uint256 expected, uint256 actual);

    constructor(address _honkVerifier, uint256 _segmentVkHash, uint256 _mergeVkHash, uint256 _l2ChainId) {
        honkVerifier = IHonkVerifier(_honkVerifier);
        segmentVkHash = bytes32(_segmentVkHash);
        mergeVkHash = bytes32(_mergeVkHash);
        l2ChainId = bytes32(_l2ChainId);
    }

    /// @notice True when `proof` is a root proof of `publicInputs[0]` over this deployment's circuits.
    /// bb's verifier reverts on a malformed or false proof; the revert is passed on to the caller.
    function Verify(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        if (publicInputs.length != 1) revert WrongPublicInputCount(1, publicInputs.length);
        bytes32[] memory inputs = new bytes32[](4);
        inputs[0] = bytes32(publicInputs[0]);
        inputs[1] = segmentVkHash;
        inputs[2] = mergeVkHash;
        inputs[3] = l2ChainId;
        return honkVerifier.verify(proof, inputs);
    }
}
