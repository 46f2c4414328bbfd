// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessRoles} from "./AccessRoles.sol";

/// @notice Pausing by type, so an incident in one flow (say L2→L1 claims) can be contained without
/// stopping block finalization. GENERAL pauses every flow at once.
abstract contract PauseManager is AccessRoles {
    bytes32 public constant PAUSE_MANAGER_ROLE = keccak256("PAUSE_MANAGER_ROLE");

    uint8 public constant GENERAL_PAUSE_TYPE = 1;
    uint8 public constant L1_L2_PAUSE_TYPE = 2;
    uint8 public constant L2_L1_PAUSE_TYPE = 3;
    uint8 public constant BLOB_SUBMISSION_PAUSE_TYPE = 4;
    uint8 public constant CALLDATA_SUBMISSION_PAUSE_TYPE = 5;
    uint8 public constant FINALIZATION_PAUSE_TYPE = 6;

    mapping(uint8 pauseType => bool) public isPaused;

    event Paused(address messageSender, uint8 indexed pauseType);
    event UnPaused(address messageSender, uint8 indexed pauseType);

    error IsPaused(uint8 pauseType);
    error IsNotPaused(uint8 pauseType);
    error UnknownPauseType(uint8 pauseType);

    modifier whenTypeAndGeneralNotPaused(uint8 pauseType) {
        if (isPaused[GENERAL_PAUSE_TYPE]) revert IsPaused(GENERAL_PAUSE_TYPE);
        if (isPaused[pauseType]) revert IsPaused(pauseType);
        _;
    }

    function pauseByType(uint8 pauseType) external onlyRole(PAUSE_MANAGER_ROLE) {
        if (pauseType == 0 || pauseType > FINALIZATION_PAUSE_TYPE) revert UnknownPauseType(pauseType);
        if (isPaused[pauseType]) revert IsPaused(pauseType);
        isPaused[pauseType] = true;
        emit Paused(msg.sender, pauseType);
    }

    function unPauseByType(uint8 pauseType) external onlyRole(PAUSE_MANAGER_ROLE) {
        if (!isPaused[pauseType]) revert IsNotPaused(pauseType);
        isPaused[pauseType] = false;
        emit UnPaused(msg.sender, pauseType);
    }
}
