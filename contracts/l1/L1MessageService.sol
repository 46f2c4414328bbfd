// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {MessageServiceBase} from "../common/MessageServiceBase.sol";

/// @notice The L1 half of the bridge, inherited by the rollup: L1→L2 messages are chained into a
/// rolling hash that finalization proves L2 has rebuilt; L2→L1 messages are claimed against the Merkle
/// roots that finalization stores.
abstract contract L1MessageService is MessageServiceBase {
    /// @dev Gas of a claim that `gasleft()` cannot see (intrinsic cost, calldata, the fee transfer itself).
    uint256 internal constant REFUND_OVERHEAD_IN_GAS = 48252;

    uint256 public nextMessageNumber;
    mapping(uint256 messageNumber => bytes32) public rollingHashes;
    mapping(bytes32 root => uint256 depth) public l2MerkleRootsDepths;
    mapping(uint256 word => uint256 bits) private _claimedMessages;

    struct ClaimMessageWithProofParams {
        bytes32[] proof;
        uint256 messageNumber;
        uint32 leafIndex;
        address from;
        address to;
        uint256 fee;
        uint256 value;
        address payable feeRecipient;
        bytes32 merkleRoot;
        bytes data;
    }

    event RollingHashUpdated(uint256 indexed messageNumber, bytes32 indexed rollingHash, bytes32 indexed messageHash);
    event L2MerkleRootAdded(bytes32 indexed l2MerkleRoot, uint256 indexed treeDepth);
    event L2MessagingBlockAnchored(uint256 indexed l2Block);

    error L2MerkleRootDoesNotExist();
    error L2MerkleRootAlreadyAnchored(bytes32 merkleRoot);
    error ProofLengthDifferentThanMerkleDepth(uint256 depth, uint256 proofLength);
    error MessageAlreadyClaimed(uint256 messageNumber);
    error LeafIndexOutOfBounds(uint32 leafIndex, uint32 maxAllowedIndex);
    error InvalidMerkleProof();
    error BytesLengthNotMultipleOfTwo(uint256 length);
    error MessageDoesNotExistOrHasAlreadyBeenClaimed(bytes32 messageHash);

    /// @notice Sends ETH and/or a call to L2. `fee` (taken from msg.value) pays whoever claims it there.
    function sendMessage(address _to, uint256 _fee, bytes calldata _calldata)
        external
        payable
        whenTypeAndGeneralNotPaused(L1_L2_PAUSE_TYPE)
    {
        if (_to == address(0)) revert ZeroAddressNotAllowed();
        if (_fee > msg.value) revert ValueSentTooLow();
        uint256 messageNumber = nextMessageNumber++;
        uint256 value = msg.value - _fee;
        bytes32 messageHash = _hashMessage(msg.sender, _to, _fee, value, messageNumber, _calldata);
        bytes32 rollingHash = keccak256(abi.encode(rollingHashes[messageNumber - 1], messageHash));
        rollingHashes[messageNumber] = rollingHash;
        emit RollingHashUpdated(messageNumber, rollingHash, messageHash);
        emit MessageSent(msg.sender, _to, _fee, value, messageNumber, _calldata, messageHash);
    }

    /// @notice Delivers an L2→L1 message proven to sit at `leafIndex` under a finalized root.
    function claimMessageWithProof(ClaimMessageWithProofParams calldata _params)
        external
        nonReentrant
        whenTypeAndGeneralNotPaused(L2_L1_PAUSE_TYPE)
    {
        uint256 gasStart = gasleft();
        uint256 depth = l2MerkleRootsDepths[_params.merkleRoot];
        if (depth == 0) revert L2MerkleRootDoesNotExist();
        if (depth != _params.proof.length) revert ProofLengthDifferentThanMerkleDepth(depth, _params.proof.length);
        _markClaimed(_params.messageNumber);
        _addUsedAmount(_params.fee + _params.value);
        bytes32 messageHash = _hashMessage(
            _params.from, _params.to, _params.fee, _params.value, _params.messageNumber, _params.data
        );
        if (!_isLeafUnderRoot(messageHash, _params.proof, _params.leafIndex, _params.merkleRoot)) {
            revert InvalidMerkleProof();
        }
        _deliver(_params.from, _params.to, _params.value, _params.data);
        emit MessageClaimed(messageHash);
        _payFee(_params.fee, _params.to, _params.data.length, _params.feeRecipient, gasStart, REFUND_OVERHEAD_IN_GAS);
    }

    /// @notice Linea's pre-Merkle inbox of L2→L1 message hashes, kept for tools that still read it: Linen
    /// never had that inbox, so every hash is UNKNOWN (0); messages are claimed with `claimMessageWithProof`.
    function inboxL2L1MessageStatus(bytes32) external pure returns (uint256) {
        return 0;
    }

    /// @notice Linea's pre-Merkle claim (7 arguments), for the same tools: with an empty inbox it always
    /// refuses, as Linea's does for a hash it does not hold, naming the message.
    function claimMessage(
        address _from,
        address _to,
        uint256 _fee,
        uint256 _value,
        address payable,
        bytes calldata _calldata,
        uint256 _nonce
    ) external pure {
        revert MessageDoesNotExistOrHasAlreadyBeenClaimed(_hashMessage(_from, _to, _fee, _value, _nonce, _calldata));
    }

    function isMessageClaimed(uint256 messageNumber) external view returns (bool) {
        return _claimedMessages[messageNumber >> 8] & (1 << (messageNumber & 0xff)) != 0;
    }

    /// @dev One bit per L2 message number: a claim costs one warm word instead of a fresh slot.
    function _markClaimed(uint256 messageNumber) private {
        uint256 word = messageNumber >> 8;
        uint256 bit = 1 << (messageNumber & 0xff);
        uint256 bits = _claimedMessages[word];
        if (bits & bit != 0) revert MessageAlreadyClaimed(messageNumber);
        _claimedMessages[word] = bits | bit;
    }

    /// @dev Bit h of the leaf index says whether the node at height h is a right child.
    function _isLeafUnderRoot(bytes32 leaf, bytes32[] calldata proof, uint32 leafIndex, bytes32 root)
        private
        pure
        returns (bool)
    {
        uint256 maxIndex = (uint256(1) << proof.length) - 1;
        if (maxIndex > type(uint32).max) maxIndex = type(uint32).max;
        if (leafIndex > maxIndex) revert LeafIndexOutOfBounds(leafIndex, uint32(maxIndex));
        bytes32 node = leaf;
        for (uint256 height; height < proof.length; ++height) {
            node = (leafIndex >> height) & 1 == 1
                ? keccak256(abi.encode(proof[height], node))
                : keccak256(abi.encode(node, proof[height]));
        }
        return node == root;
    }

    function _addL2MerkleRoots(bytes32[] calldata roots, uint256 depth) internal {
        for (uint256 i; i < roots.length; ++i) {
            if (l2MerkleRootsDepths[roots[i]] != 0) revert L2MerkleRootAlreadyAnchored(roots[i]);
            l2MerkleRootsDepths[roots[i]] = depth;
            emit L2MerkleRootAdded(roots[i], depth);
        }
    }

    /// @dev Tells the postman which L2 blocks sent messages, without storing anything.
    function _anchorL2MessagingBlocks(bytes calldata offsets, uint256 lastFinalizedBlock) internal {
        if (offsets.length % 2 != 0) revert BytesLengthNotMultipleOfTwo(offsets.length);
        for (uint256 i; i < offsets.length; i += 2) {
            emit L2MessagingBlockAnchored(lastFinalizedBlock + uint16(bytes2(offsets[i:i + 2])));
        }
    }
}
