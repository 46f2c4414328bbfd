// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

interface IMessageSender {
    function sender() external view returns (address);
}

/// @notice Test target of bridged calls: records what the message service delivered and who it says sent it.
contract MessageReceiver {
    address public lastSender;
    uint256 public lastValue;
    bytes public lastData;

    error Refused(uint256 code);

    function receiveMessage(bytes calldata data) external payable {
        lastSender = IMessageSender(msg.sender).sender();
        lastValue = msg.value;
        lastData = data;
    }

    function refuse() external payable {
        revert Refused(7);
    }
}
