// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {PauseManager} from "./PauseManager.sol";
import {RateLimiter} from "./RateLimiter.sol";

/// @notice What both message services share: the message hash, delivery with a visible original
/// sender, the postman's fee and the refund of an over-paid fee.
abstract contract MessageServiceBase is PauseManager, RateLimiter {
    /// @dev Returned by `sender()` outside a delivery, so a contract can tell "no message" from a zero sender.
    address public constant DEFAULT_SENDER_ADDRESS = address(123456789);

    address private transient _deliveringSender;
    bool private transient _entered;

    event MessageSent(
        address indexed _from,
        address indexed _to,
        uint256 _fee,
        uint256 _value,
        uint256 _nonce,
        bytes _calldata,
        bytes32 indexed _messageHash
    );
    event MessageClaimed(bytes32 indexed _messageHash);

    error ValueSentTooLow();
    error MessageSendingFailed(address destination);
    error FeePaymentFailed(address recipient);
    error ReentrantCall();

    modifier nonReentrant() {
        if (_entered) revert ReentrantCall();
        _entered = true;
        _;
        _entered = false;
    }

    /// @notice The original sender of the message being delivered, for the receiving contract to check.
    function sender() external view returns (address) {
        address current = _deliveringSender;
        return current == address(0) ? DEFAULT_SENDER_ADDRESS : current;
    }

    /// @dev keccak(abi.encode(from, to, fee, value, nonce, calldata)); the identity of a message on both chains.
    function _hashMessage(address from, address to, uint256 fee, uint256 value, uint256 nonce, bytes calldata data)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(from, to, fee, value, nonce, data));
    }

    /// @dev Calls `to` with the message, bubbling up its revert so a failed claim says why.
    function _deliver(address from, address to, uint256 value, bytes calldata data) internal {
        _deliveringSender = from;
        (bool success, bytes memory returnData) = to.call{value: value}(data);
        if (!success) {
            if (returnData.length > 0) {
                assembly {
                    revert(add(returnData, 32), mload(returnData))
                }
            }
            revert MessageSendingFailed(to);
        }
        _deliveringSender = address(0);
    }

    /// @dev For a plain ETH transfer to an account without code, the claimer only earns the gas it
    /// spent (plus a fixed overhead for what cannot be measured here) and the rest goes back to `to`.
    function _payFee(
        uint256 fee,
        address to,
        uint256 calldataLength,
        address feeRecipient,
        uint256 gasStart,
        uint256 refundOverheadInGas
    ) internal {
        if (fee == 0) return;
        uint256 deliveryFee = fee;
        if (calldataLength == 0 && to.code.length == 0) {
            uint256 spent = (gasStart - gasleft() + refundOverheadInGas) * tx.gasprice;
            if (spent < fee) {
                deliveryFee = spent;
                (bool refunded,) = to.call{value: fee - spent}("");
                refunded; // a refusing recipient only loses its refund
            }
        }
        address recipient = feeRecipient == address(0) ? msg.sender : feeRecipient;
        (bool paid,) = recipient.call{value: deliveryFee}("");
        if (!paid) revert FeePaymentFailed(recipient);
    }
}
