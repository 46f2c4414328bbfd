// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessRoles} from "./AccessRoles.sol";

/// @notice Caps the ETH that can leave through the bridge per period, so a bug in proofs or messaging
/// can drain at most one period's allowance before people react.
abstract contract RateLimiter is AccessRoles {
    bytes32 public constant RATE_LIMIT_SETTER_ROLE = keccak256("RATE_LIMIT_SETTER_ROLE");
    bytes32 public constant USED_RATE_LIMIT_RESETTER_ROLE = keccak256("USED_RATE_LIMIT_RESETTER_ROLE");

    uint256 public periodInSeconds;
    uint256 public limitInWei;
    uint256 public currentPeriodEnd;
    uint256 public currentPeriodAmountInWei;

    event RateLimitInitialized(uint256 periodInSeconds, uint256 limitInWei, uint256 currentPeriodEnd);
    event LimitAmountChanged(
        address indexed amountChangeBy, uint256 amount, bool amountUsedLoweredToLimit, bool usedAmountResetToZero
    );
    event AmountUsedInPeriodReset(address indexed resettingAddress);

    error RateLimitExceeded();
    error PeriodIsZero();
    error LimitIsZero();

    function _initializeRateLimit(uint256 period, uint256 limit) internal {
        if (period == 0) revert PeriodIsZero();
        if (limit == 0) revert LimitIsZero();
        periodInSeconds = period;
        limitInWei = limit;
        currentPeriodEnd = block.timestamp + period;
        emit RateLimitInitialized(period, limit, block.timestamp + period);
    }

    /// @dev A new period starts lazily, on the first use after the previous one ended.
    function _addUsedAmount(uint256 amount) internal {
        if (amount == 0) return;
        uint256 used;
        if (currentPeriodEnd < block.timestamp) {
            currentPeriodEnd = block.timestamp + periodInSeconds;
            used = amount;
        } else {
            used = currentPeriodAmountInWei + amount;
        }
        if (used > limitInWei) revert RateLimitExceeded();
        currentPeriodAmountInWei = used;
    }

    function resetRateLimitAmount(uint256 amount) external onlyRole(RATE_LIMIT_SETTER_ROLE) {
        if (amount == 0) revert LimitIsZero();
        bool loweredToLimit;
        bool resetToZero;
        limitInWei = amount;
        if (currentPeriodEnd < block.timestamp) {
            currentPeriodEnd = block.timestamp + periodInSeconds;
            currentPeriodAmountInWei = 0;
            resetToZero = true;
        } else if (currentPeriodAmountInWei > amount) {
            currentPeriodAmountInWei = amount;
            loweredToLimit = true;
        }
        emit LimitAmountChanged(msg.sender, amount, loweredToLimit, resetToZero);
    }

    function resetAmountUsedInPeriod() external onlyRole(USED_RATE_LIMIT_RESETTER_ROLE) {
        currentPeriodAmountInWei = 0;
        emit AmountUsedInPeriodReset(msg.sender);
    }
}
