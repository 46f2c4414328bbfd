// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {MessageServiceBase} from "../common/MessageServiceBase.sol";

/// @notice The L2 half of the bridge. L1→L2 message hashes are anchored here by the coordinator,
/// which must rebuild L1's rolling hash exactly (finalization later proves it did); L2→L1 messages
/// are only emitted, and proven on L1 through the Merkle roots of finalization.
contract L2MessageService is MessageServiceBase {
    bytes32 public constant L1_L2_MESSAGE_SETTER_ROLE = keccak256("L1_L2_MESSAGE_SETTER_ROLE");
    bytes32 public constant MINIMUM_FEE_SETTER_ROLE = keccak256("MINIMUM_FEE_SETTER_ROLE");

    /// @dev Gas of a claim that `gasleft()` cannot see (intrinsic cost, calldata, the fee transfer itself).
    uint256 internal constant REFUND_OVERHEAD_IN_GAS = 44596;
    uint256 public constant MAX_L1_L2_MESSAGES_TO_ANCHOR = 100;

    uint8 internal constant INBOX_STATUS_UNKNOWN = 0;
    uint8 internal constant INBOX_STATUS_RECEIVED = 1;
    uint8 internal constant INBOX_STATUS_CLAIMED = 2;

    uint256 public minimumFeeInWei;
    uint256 public nextMessageNumber;
    mapping(bytes32 messageHash => uint256 status) public inboxL1L2MessageStatus;
    uint256 public lastAnchoredL1MessageNumber;
    mapping(uint256 messageNumber => bytes32) public l1RollingHashes;

    event L1L2MessageHashesAddedToInbox(bytes32[] messageHashes);
    event RollingHashUpdated(uint256 indexed messageNumber, bytes32 indexed rollingHash);
    event MinimumFeeChanged(uint256 previousMinimumFee, uint256 newMinimumFee, address indexed calledBy);
    /// @dev Linea's L2 emitted it when L2→L1 messages moved from inbox hashes to Merkle proofs; its SDK claims
    /// a message sent at or after that block with `claimMessageWithProof`, one before it without a proof.
    event ServiceVersionMigrated(uint256 indexed version);

    /// @notice The message-service version since deployment: Linen has only the Merkle-proof one.
    uint256 public constant SERVICE_VERSION = 2;

    error FeeTooLow();
    error MessageHashesListLengthIsZero();
    error MessageHashesListLengthHigherThanOneHundred(uint256 length);
    error FinalRollingHashIsZero();
    error L1MessageNumberSynchronizationWrong(uint256 expected, uint256 found);
    error L1RollingHashSynchronizationWrong(bytes32 expected, bytes32 found);
    error MessageDoesNotExistOrHasAlreadyBeenClaimed(bytes32 messageHash);

    /// @dev Payable: the ETH sent with the deployment is the reserve that pays out claimed deposits (Linea
    /// funds its service in the L2 genesis instead).
    constructor(
        address _defaultAdmin,
        address _l1l2MessageSetter,
        uint256 _rateLimitPeriodInSeconds,
        uint256 _rateLimitAmountInWei,
        uint256 _minimumFeeInWei
    ) payable {
        _grantRole(DEFAULT_ADMIN_ROLE, _defaultAdmin);
        _grantRole(L1_L2_MESSAGE_SETTER_ROLE, _l1l2MessageSetter);
        _initializeRateLimit(_rateLimitPeriodInSeconds, _rateLimitAmountInWei);
        minimumFeeInWei = _minimumFeeInWei;
        nextMessageNumber = 1;
        emit ServiceVersionMigrated(SERVICE_VERSION);
    }

    /// @notice Sends ETH and/or a call to L1. The minimum fee goes to this block's coinbase (it pays
    /// for the L1 data of the finalization); the rest of `_fee` pays the claimer on L1.
    function sendMessage(address _to, uint256 _fee, bytes calldata _calldata)
        external
        payable
        whenTypeAndGeneralNotPaused(L2_L1_PAUSE_TYPE)
    {
        if (_to == address(0)) revert ZeroAddressNotAllowed();
        if (_fee > msg.value) revert ValueSentTooLow();
        uint256 minimumFee = minimumFeeInWei;
        if (_fee < minimumFee) revert FeeTooLow();
        uint256 postmanFee = _fee - minimumFee;
        uint256 value = msg.value - _fee;
        _addUsedAmount(value + postmanFee);
        uint256 messageNumber = nextMessageNumber++;
        bytes32 messageHash = _hashMessage(msg.sender, _to, postmanFee, value, messageNumber, _calldata);
        emit MessageSent(msg.sender, _to, postmanFee, value, messageNumber, _calldata, messageHash);
        if (minimumFee > 0) {
            (bool paid,) = block.coinbase.call{value: minimumFee}("");
            if (!paid) revert FeePaymentFailed(block.coinbase);
        }
    }

    /// @notice Delivers an anchored L1→L2 message; anyone may call, the fee pays the caller (or `_feeRecipient`).
    function claimMessage(
        address _from,
        address _to,
        uint256 _fee,
        uint256 _value,
        address payable _feeRecipient,
        bytes calldata _calldata,
        uint256 _nonce
    ) external nonReentrant whenTypeAndGeneralNotPaused(L1_L2_PAUSE_TYPE) {
        uint256 gasStart = gasleft();
        bytes32 messageHash = _hashMessage(_from, _to, _fee, _value, _nonce, _calldata);
        if (inboxL1L2MessageStatus[messageHash] != INBOX_STATUS_RECEIVED) {
            revert MessageDoesNotExistOrHasAlreadyBeenClaimed(messageHash);
        }
        inboxL1L2MessageStatus[messageHash] = INBOX_STATUS_CLAIMED;
        _deliver(_from, _to, _value, _calldata);
        emit MessageClaimed(messageHash);
        _payFee(_fee, _to, _calldata.length, _feeRecipient, gasStart, REFUND_OVERHEAD_IN_GAS);
    }

    /// @notice Records L1 messages `_startingMessageNumber`.. as claimable, in L1 order. The rolling
    /// hash they produce must equal L1's, which is what makes a forged or skipped message impossible.
    /// @dev Hashes already in the inbox are skipped without advancing the message number.
    function anchorL1L2MessageHashes(
        bytes32[] calldata _messageHashes,
        uint256 _startingMessageNumber,
        uint256 _finalMessageNumber,
        bytes32 _finalRollingHash
    ) external onlyRole(L1_L2_MESSAGE_SETTER_ROLE) {
        uint256 count = _messageHashes.length;
        if (count == 0) revert MessageHashesListLengthIsZero();
        if (count > MAX_L1_L2_MESSAGES_TO_ANCHOR) revert MessageHashesListLengthHigherThanOneHundred(count);
        if (_finalRollingHash == 0) revert FinalRollingHashIsZero();
        uint256 lastAnchored = lastAnchoredL1MessageNumber;
        if (_startingMessageNumber != lastAnchored + 1) {
            revert L1MessageNumberSynchronizationWrong(lastAnchored + 1, _startingMessageNumber);
        }
        bytes32 rollingHash = l1RollingHashes[lastAnchored];
        uint256 messageNumber = lastAnchored;
        for (uint256 i; i < count; ++i) {
            bytes32 messageHash = _messageHashes[i];
            if (inboxL1L2MessageStatus[messageHash] == INBOX_STATUS_UNKNOWN) {
                inboxL1L2MessageStatus[messageHash] = INBOX_STATUS_RECEIVED;
                rollingHash = keccak256(abi.encode(rollingHash, messageHash));
                ++messageNumber;
            }
        }
        if (messageNumber != _finalMessageNumber) {
            revert L1MessageNumberSynchronizationWrong(_finalMessageNumber, messageNumber);
        }
        if (rollingHash != _finalRollingHash) revert L1RollingHashSynchronizationWrong(_finalRollingHash, rollingHash);
        lastAnchoredL1MessageNumber = messageNumber;
        l1RollingHashes[messageNumber] = rollingHash;
        emit L1L2MessageHashesAddedToInbox(_messageHashes);
        emit RollingHashUpdated(messageNumber, rollingHash);
    }

    function setMinimumFee(uint256 _feeInWei) external onlyRole(MINIMUM_FEE_SETTER_ROLE) {
        emit MinimumFeeChanged(minimumFeeInWei, _feeInWei, msg.sender);
        minimumFeeInWei = _feeInWei;
    }
}
