// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @notice What the rollup asks of any verifier it registers for a proof type.
/// @dev The capitalised name is kept so a verifier written for Linea's rollup plugs in unchanged.
interface IProofVerifier {
    /// @return true when `proof` proves the statement summarised by `publicInputs`.
    function Verify(bytes calldata proof, uint256[] calldata publicInputs) external returns (bool);
}
