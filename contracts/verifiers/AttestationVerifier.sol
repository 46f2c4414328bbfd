// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IProofVerifier} from "../interfaces/IProofVerifier.sol";
import {AccessRoles} from "../common/AccessRoles.sol";

/// @notice A "proof" that is a threshold of ECDSA signatures by registered prover keys over the public
/// input. It lets the devnet finalize before real ZK proofs exist, with the trust assumption explicit:
/// `threshold` of the registered provers must agree.
/// @dev The signed digest binds the chain id and this contract's address, so an attestation cannot be
/// replayed on another deployment. Signatures are 65 bytes (r, s, v) and sorted by signer address,
/// which makes duplicate signers impossible without a seen-set.
contract AttestationVerifier is IProofVerifier, AccessRoles {
    bytes32 public constant ATTESTATION_TYPEHASH =
        keccak256("LinenProofAttestation(uint256 chainId,address verifier,uint256 publicInput)");
    uint256 internal constant SIGNATURE_LENGTH = 65;

    mapping(address prover => bool) public isProver;
    uint256 public proverCount;
    uint256 public threshold;

    event ProverAdded(address indexed prover);
    event ProverRemoved(address indexed prover);
    event ThresholdChanged(uint256 threshold);

    error ThresholdOutOfRange(uint256 threshold, uint256 proverCount);
    error WrongPublicInputCount(uint256 expected, uint256 actual);

    constructor(address _admin, address[] memory _provers, uint256 _threshold) {
        _grantRole(DEFAULT_ADMIN_ROLE, _admin);
        for (uint256 i; i < _provers.length; ++i) {
            _addProver(_provers[i]);
        }
        _setThreshold(_threshold);
    }

    function addProver(address _prover) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _addProver(_prover);
    }

    function removeProver(address _prover) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!isProver[_prover]) return;
        isProver[_prover] = false;
        --proverCount;
        if (threshold > proverCount) revert ThresholdOutOfRange(threshold, proverCount);
        emit ProverRemoved(_prover);
    }

    function setThreshold(uint256 _threshold) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setThreshold(_threshold);
    }

    /// @notice The hash each prover signs (raw, no message prefix) to attest `publicInput`.
    function attestationDigest(uint256 publicInput) public view returns (bytes32) {
        return keccak256(abi.encode(ATTESTATION_TYPEHASH, block.chainid, address(this), publicInput));
    }

    /// @notice True when `proof` holds at least `threshold` valid signatures of distinct registered
    /// provers, in increasing signer order, over the single public input.
    function Verify(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        if (publicInputs.length != 1) revert WrongPublicInputCount(1, publicInputs.length);
        if (proof.length == 0 || proof.length % SIGNATURE_LENGTH != 0) return false;
        uint256 count = proof.length / SIGNATURE_LENGTH;
        if (count < threshold) return false;
        bytes32 digest = attestationDigest(publicInputs[0]);
        address previous;
        for (uint256 i; i < count; ++i) {
            uint256 at = i * SIGNATURE_LENGTH;
            bytes32 r = bytes32(proof[at:at + 32]);
            bytes32 s = bytes32(proof[at + 32:at + 64]);
            uint8 v = uint8(proof[at + 64]);
            address signer = ecrecover(digest, v, r, s);
            if (signer <= previous || !isProver[signer]) return false;
            previous = signer;
        }
        return true;
    }

    function _addProver(address _prover) private {
        if (_prover == address(0)) revert ZeroAddressNotAllowed();
        if (isProver[_prover]) return;
        isProver[_prover] = true;
        ++proverCount;
        emit ProverAdded(_prover);
    }

    function _setThreshold(uint256 _threshold) private {
        if (_threshold == 0 || _threshold > proverCount) revert ThresholdOutOfRange(_threshold, proverCount);
        threshold = _threshold;
        emit ThresholdChanged(_threshold);
    }
}
