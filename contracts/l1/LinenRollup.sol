// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {L1MessageService} from "./L1MessageService.sol";
import {IProofVerifier} from "../interfaces/IProofVerifier.sol";

/// @notice The L1 rollup contract: accepts L2 data (blobs or calldata) as a chain of shnarfs, and
/// finalizes a range of L2 blocks when a registered verifier accepts a proof of that range.
/// @dev Follows LineaRollup V7 (FinalizationDataV3): same signatures, events and checks.
contract LinenRollup is L1MessageService {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant VERIFIER_SETTER_ROLE = keccak256("VERIFIER_SETTER_ROLE");
    bytes32 public constant VERIFIER_UNSETTER_ROLE = keccak256("VERIFIER_UNSETTER_ROLE");

    /// @dev After this long without a finalization anyone may hand the operator role to the fallback operator.
    uint256 public constant SIX_MONTHS_IN_SECONDS = 182 days;

    uint256 internal constant BLS_CURVE_MODULUS =
        52435875175126190479447740508185965837690552500527637822603658699938581184513;
    uint256 internal constant BN254_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant FIELD_ELEMENTS_PER_BLOB = 4096;
    address internal constant POINT_EVALUATION_PRECOMPILE = address(0x0a);

    uint256 public currentL2BlockNumber;
    mapping(uint256 blockNumber => bytes32) public stateRootHashes;
    mapping(uint256 proofType => address) public verifiers;
    bytes32 public currentFinalizedShnarf;
    mapping(bytes32 shnarf => uint256) public blobShnarfExists;
    bytes32 public currentFinalizedState;
    address public fallbackOperator;
    /// @dev Proof types every finalization must carry, strictly increasing; empty means any registered type.
    uint256[] internal requiredProofTypes;

    struct RoleAddress {
        address addressWithRole;
        bytes32 role;
    }

    struct InitializationData {
        bytes32 initialStateRootHash;
        uint256 initialL2BlockNumber;
        uint256 genesisTimestamp;
        address defaultVerifier;
        uint256 rateLimitPeriodInSeconds;
        uint256 rateLimitAmountInWei;
        address defaultAdmin;
        address fallbackOperator;
        RoleAddress[] roleAddresses;
    }

    struct BlobSubmission {
        uint256 dataEvaluationClaim;
        bytes kzgCommitment;
        bytes kzgProof;
        bytes32 finalStateRootHash;
        bytes32 snarkHash;
    }

    struct CompressedCalldataSubmission {
        bytes32 finalStateRootHash;
        bytes32 snarkHash;
        bytes compressedData;
    }

    struct ShnarfData {
        bytes32 parentShnarf;
        bytes32 snarkHash;
        bytes32 finalStateRootHash;
        bytes32 dataEvaluationPoint;
        bytes32 dataEvaluationClaim;
    }

    struct FinalizationDataV3 {
        bytes32 parentStateRootHash;
        uint256 endBlockNumber;
        ShnarfData shnarfData;
        uint256 lastFinalizedTimestamp;
        uint256 finalTimestamp;
        bytes32 lastFinalizedL1RollingHash;
        bytes32 l1RollingHash;
        uint256 lastFinalizedL1RollingHashMessageNumber;
        uint256 l1RollingHashMessageNumber;
        uint256 l2MerkleTreesDepth;
        bytes32[] l2MerkleRoots;
        bytes l2MessagingBlocksOffsets;
    }

    event RollupInitialized(bytes32 genesisShnarf, uint256 initialL2BlockNumber, bytes32 initialStateRootHash);
    event DataSubmittedV3(bytes32 parentShnarf, bytes32 indexed shnarf, bytes32 finalStateRootHash);
    event DataFinalizedV3(
        uint256 indexed startBlockNumber,
        uint256 indexed endBlockNumber,
        bytes32 indexed shnarf,
        bytes32 parentStateRootHash,
        bytes32 finalStateRootHash
    );
    event VerifierAddressChanged(
        address indexed verifierAddress,
        uint256 indexed proofType,
        address indexed verifierSetBy,
        address oldVerifierAddress
    );
    event RequiredProofTypesChanged(uint256[] proofTypes, address indexed setBy);
    event FallbackOperatorAddressSet(address indexed caller, address indexed fallbackOperator);
    event FallbackOperatorRoleGranted(address indexed caller, address indexed fallbackOperator);

    error BlobSubmissionDataIsMissing();
    error BlobSubmissionDataEmpty(uint256 emptyBlobIndex);
    error MoreBlobsAttachedThanSubmitted(uint256 submittedBlobCount);
    error ParentBlobNotSubmitted(bytes32 parentShnarf);
    error DataAlreadySubmitted(bytes32 shnarf);
    error FinalShnarfWrong(bytes32 expected, bytes32 computed);
    error PointEvaluationFailed();
    error PrecompileReturnDataLengthWrong(uint256 expected, uint256 actual);
    error PointEvaluationResponseInvalid(uint256 fieldElements, uint256 blsCurveModulus);
    error EmptySubmissionData();
    error BytesLengthNotMultipleOf32();
    error FirstByteIsNotZero();
    error ProofIsEmpty();
    error StartingRootHashDoesNotMatch();
    error MissingMessageNumberForRollingHash(bytes32 rollingHash);
    error MissingRollingHashForMessageNumber(uint256 messageNumber);
    error L1RollingHashDoesNotExistOnL1(uint256 messageNumber, bytes32 rollingHash);
    error FinalizationStateIncorrect(bytes32 expected, bytes32 value);
    error FinalizationInTheFuture(uint256 finalTimestamp, uint256 blockTimestamp);
    error FinalBlockStateEqualsZeroHash();
    error FinalBlobNotSubmitted(bytes32 shnarf);
    error InvalidProofType();
    error InvalidProof();
    error InvalidProofOrProofVerificationRanOutOfGas(bytes verifierRevertData);
    error LastFinalizationTimeNotLapsed();
    error ProofTypesNotIncreasing();
    error ProofCountMismatch(uint256 proofs, uint256 proofTypes);
    error RequiredProofTypeMissing(uint256 proofType);
    error ProofTypeIsRequired(uint256 proofType);

    constructor(InitializationData memory _init) {
        bytes32 genesisShnarf = _computeShnarf(0, 0, _init.initialStateRootHash, 0, 0);
        blobShnarfExists[genesisShnarf] = 1;
        currentFinalizedShnarf = genesisShnarf;
        currentL2BlockNumber = _init.initialL2BlockNumber;
        stateRootHashes[_init.initialL2BlockNumber] = _init.initialStateRootHash;
        currentFinalizedState = _finalizedState(0, 0, _init.genesisTimestamp);
        nextMessageNumber = 1;
        _grantRole(DEFAULT_ADMIN_ROLE, _init.defaultAdmin);
        for (uint256 i; i < _init.roleAddresses.length; ++i) {
            _grantRole(_init.roleAddresses[i].role, _init.roleAddresses[i].addressWithRole);
        }
        if (_init.defaultVerifier != address(0)) {
            verifiers[0] = _init.defaultVerifier;
            emit VerifierAddressChanged(_init.defaultVerifier, 0, msg.sender, address(0));
        }
        fallbackOperator = _init.fallbackOperator;
        _initializeRateLimit(_init.rateLimitPeriodInSeconds, _init.rateLimitAmountInWei);
        emit RollupInitialized(genesisShnarf, _init.initialL2BlockNumber, _init.initialStateRootHash);
    }

    // ------------------------------------------------------------------ verifiers and operators

    function setVerifierAddress(address _newVerifierAddress, uint256 _proofType)
        external
        onlyRole(VERIFIER_SETTER_ROLE)
    {
        if (_newVerifierAddress == address(0)) revert ZeroAddressNotAllowed();
        emit VerifierAddressChanged(_newVerifierAddress, _proofType, msg.sender, verifiers[_proofType]);
        verifiers[_proofType] = _newVerifierAddress;
    }

    function unsetVerifierAddress(uint256 _proofType) external onlyRole(VERIFIER_UNSETTER_ROLE) {
        for (uint256 i; i < requiredProofTypes.length; ++i) {
            if (requiredProofTypes[i] == _proofType) revert ProofTypeIsRequired(_proofType);
        }
        emit VerifierAddressChanged(address(0), _proofType, msg.sender, verifiers[_proofType]);
        delete verifiers[_proofType];
    }

    /// @notice Makes `_proofTypes` (strictly increasing, each with a verifier) the proof types every
    /// finalization must carry: with [0, 1] neither the attestation nor the validity proof alone suffices.
    function setRequiredProofTypes(uint256[] calldata _proofTypes) external onlyRole(VERIFIER_SETTER_ROLE) {
        for (uint256 i; i < _proofTypes.length; ++i) {
            if (i > 0 && _proofTypes[i] <= _proofTypes[i - 1]) revert ProofTypesNotIncreasing();
            if (verifiers[_proofTypes[i]] == address(0)) revert InvalidProofType();
        }
        requiredProofTypes = _proofTypes;
        emit RequiredProofTypesChanged(_proofTypes, msg.sender);
    }

    function getRequiredProofTypes() external view returns (uint256[] memory) {
        return requiredProofTypes;
    }

    function setFallbackOperatorAddress(address _fallbackOperator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_fallbackOperator == address(0)) revert ZeroAddressNotAllowed();
        fallbackOperator = _fallbackOperator;
        emit FallbackOperatorAddressSet(msg.sender, _fallbackOperator);
    }

    /// @notice If operators stop finalizing for six months, anyone may make the fallback operator an
    /// operator, so the chain (and the funds bridged to it) cannot be frozen by absent operators.
    /// @dev The caller proves the last finalization time with the values hashed into currentFinalizedState.
    function setFallbackOperator(uint256 _messageNumber, bytes32 _rollingHash, uint256 _lastFinalizedTimestamp)
        external
    {
        if (block.timestamp < _lastFinalizedTimestamp + SIX_MONTHS_IN_SECONDS) revert LastFinalizationTimeNotLapsed();
        bytes32 supplied = _finalizedState(_messageNumber, _rollingHash, _lastFinalizedTimestamp);
        if (supplied != currentFinalizedState) revert FinalizationStateIncorrect(currentFinalizedState, supplied);
        _grantRole(OPERATOR_ROLE, fallbackOperator);
        emit FallbackOperatorRoleGranted(msg.sender, fallbackOperator);
    }

    // ------------------------------------------------------------------ data submission

    /// @notice Accepts 1..n blobs attached to this transaction, each opened at x = keccak(snarkHash,
    /// versionedHash) by the point-evaluation precompile, and stores the shnarf of the last one.
    function submitBlobs(BlobSubmission[] calldata _blobSubmissions, bytes32 _parentShnarf, bytes32 _finalBlobShnarf)
        external
        whenTypeAndGeneralNotPaused(BLOB_SUBMISSION_PAUSE_TYPE)
        onlyRole(OPERATOR_ROLE)
    {
        uint256 count = _blobSubmissions.length;
        if (count == 0) revert BlobSubmissionDataIsMissing();
        if (blobhash(count) != 0) revert MoreBlobsAttachedThanSubmitted(count);
        if (blobShnarfExists[_parentShnarf] == 0) revert ParentBlobNotSubmitted(_parentShnarf);
        if (blobShnarfExists[_finalBlobShnarf] != 0) revert DataAlreadySubmitted(_finalBlobShnarf);

        bytes32 shnarf = _parentShnarf;
        for (uint256 i; i < count; ++i) {
            BlobSubmission calldata blob = _blobSubmissions[i];
            bytes32 versionedHash = blobhash(i);
            if (versionedHash == 0) revert BlobSubmissionDataEmpty(i);
            bytes32 x = keccak256(abi.encode(blob.snarkHash, versionedHash));
            _verifyPointEvaluation(versionedHash, uint256(x) % BLS_CURVE_MODULUS, blob);
            shnarf = _computeShnarf(shnarf, blob.snarkHash, blob.finalStateRootHash, x, bytes32(blob.dataEvaluationClaim));
        }
        if (shnarf != _finalBlobShnarf) revert FinalShnarfWrong(_finalBlobShnarf, shnarf);
        blobShnarfExists[shnarf] = 1;
        emit DataSubmittedV3(_parentShnarf, shnarf, _blobSubmissions[count - 1].finalStateRootHash);
    }

    /// @notice The same shnarf chain for data posted as calldata; the contract evaluates y itself.
    function submitDataAsCalldata(
        CompressedCalldataSubmission calldata _submission,
        bytes32 _parentShnarf,
        bytes32 _expectedShnarf
    ) external whenTypeAndGeneralNotPaused(CALLDATA_SUBMISSION_PAUSE_TYPE) onlyRole(OPERATOR_ROLE) {
        if (_submission.compressedData.length == 0) revert EmptySubmissionData();
        if (blobShnarfExists[_parentShnarf] == 0) revert ParentBlobNotSubmitted(_parentShnarf);
        if (blobShnarfExists[_expectedShnarf] != 0) revert DataAlreadySubmitted(_expectedShnarf);
        bytes32 x = keccak256(abi.encode(_submission.snarkHash, keccak256(_submission.compressedData)));
        bytes32 y = _evaluateCalldataPolynomial(_submission.compressedData, uint256(x));
        bytes32 shnarf = _computeShnarf(_parentShnarf, _submission.snarkHash, _submission.finalStateRootHash, x, y);
        if (shnarf != _expectedShnarf) revert FinalShnarfWrong(_expectedShnarf, shnarf);
        blobShnarfExists[shnarf] = 1;
        emit DataSubmittedV3(_parentShnarf, shnarf, _submission.finalStateRootHash);
    }

    // ------------------------------------------------------------------ finalization

    /// @notice Finalizes blocks currentL2BlockNumber+1 .. endBlockNumber once the verifier for
    /// `_proofType` accepts `_aggregatedProof` against the public input of `_finalizationData`.
    /// @dev Only when no proof types are required, or exactly `_proofType` is.
    function finalizeBlocks(bytes calldata _aggregatedProof, uint256 _proofType, FinalizationDataV3 calldata _finalizationData)
        external
        whenTypeAndGeneralNotPaused(FINALIZATION_PAUSE_TYPE)
        onlyRole(OPERATOR_ROLE)
    {
        if (_aggregatedProof.length == 0) revert ProofIsEmpty();
        for (uint256 i; i < requiredProofTypes.length; ++i) {
            if (requiredProofTypes[i] != _proofType) revert RequiredProofTypeMissing(requiredProofTypes[i]);
        }
        uint256 publicInput = _finalize(_finalizationData);
        _verifyProof(publicInput, _proofType, _aggregatedProof);
    }

    /// @notice As `finalizeBlocks`, with one proof per type in `_proofTypes` (strictly increasing), all
    /// verified against the same public input; every required proof type must be among them.
    function finalizeBlocksWithProofs(
        bytes[] calldata _proofs,
        uint256[] calldata _proofTypes,
        FinalizationDataV3 calldata _finalizationData
    ) external whenTypeAndGeneralNotPaused(FINALIZATION_PAUSE_TYPE) onlyRole(OPERATOR_ROLE) {
        if (_proofs.length != _proofTypes.length) revert ProofCountMismatch(_proofs.length, _proofTypes.length);
        if (_proofs.length == 0) revert ProofIsEmpty();
        uint256 next;
        for (uint256 i; i < _proofTypes.length; ++i) {
            if (i > 0 && _proofTypes[i] <= _proofTypes[i - 1]) revert ProofTypesNotIncreasing();
            if (_proofs[i].length == 0) revert ProofIsEmpty();
            if (next < requiredProofTypes.length && requiredProofTypes[next] == _proofTypes[i]) ++next;
        }
        if (next < requiredProofTypes.length) revert RequiredProofTypeMissing(requiredProofTypes[next]);
        uint256 publicInput = _finalize(_finalizationData);
        for (uint256 i; i < _proofTypes.length; ++i) {
            _verifyProof(publicInput, _proofTypes[i], _proofs[i]);
        }
    }

    /// @dev Every check of the finalization data, the state moved forward, and the public input to prove.
    function _finalize(FinalizationDataV3 calldata _finalizationData) private returns (uint256) {
        uint256 lastFinalizedBlock = currentL2BlockNumber;
        if (stateRootHashes[lastFinalizedBlock] != _finalizationData.parentStateRootHash) {
            revert StartingRootHashDoesNotMatch();
        }
        bytes32 lastFinalizedShnarf = currentFinalizedShnarf;
        bytes32 finalShnarf = _finalizeState(_finalizationData, lastFinalizedBlock);
        return _computePublicInput(_finalizationData, lastFinalizedShnarf, finalShnarf, lastFinalizedBlock);
    }

    function _finalizeState(FinalizationDataV3 calldata _data, uint256 _lastFinalizedBlock)
        private
        returns (bytes32 finalShnarf)
    {
        _checkL1RollingHash(_data.l1RollingHashMessageNumber, _data.l1RollingHash);
        bytes32 supplied = _finalizedState(
            _data.lastFinalizedL1RollingHashMessageNumber, _data.lastFinalizedL1RollingHash, _data.lastFinalizedTimestamp
        );
        if (supplied != currentFinalizedState) revert FinalizationStateIncorrect(currentFinalizedState, supplied);
        if (_data.finalTimestamp >= block.timestamp) revert FinalizationInTheFuture(_data.finalTimestamp, block.timestamp);
        ShnarfData calldata s = _data.shnarfData;
        if (s.finalStateRootHash == 0) revert FinalBlockStateEqualsZeroHash();
        finalShnarf =
            _computeShnarf(s.parentShnarf, s.snarkHash, s.finalStateRootHash, s.dataEvaluationPoint, s.dataEvaluationClaim);
        if (blobShnarfExists[finalShnarf] == 0) revert FinalBlobNotSubmitted(finalShnarf);

        _addL2MerkleRoots(_data.l2MerkleRoots, _data.l2MerkleTreesDepth);
        _anchorL2MessagingBlocks(_data.l2MessagingBlocksOffsets, _lastFinalizedBlock);

        stateRootHashes[_data.endBlockNumber] = s.finalStateRootHash;
        currentL2BlockNumber = _data.endBlockNumber;
        currentFinalizedShnarf = finalShnarf;
        currentFinalizedState =
            _finalizedState(_data.l1RollingHashMessageNumber, _data.l1RollingHash, _data.finalTimestamp);
        emit DataFinalizedV3(
            _lastFinalizedBlock + 1, _data.endBlockNumber, finalShnarf, _data.parentStateRootHash, s.finalStateRootHash
        );
    }

    /// @dev The proof claims L2 consumed L1 messages up to `messageNumber`; that rolling hash must exist here.
    function _checkL1RollingHash(uint256 messageNumber, bytes32 rollingHash) private view {
        if (messageNumber == 0) {
            if (rollingHash != 0) revert MissingMessageNumberForRollingHash(rollingHash);
            return;
        }
        if (rollingHash == 0) revert MissingRollingHashForMessageNumber(messageNumber);
        if (rollingHashes[messageNumber] != rollingHash) revert L1RollingHashDoesNotExistOnL1(messageNumber, rollingHash);
    }

    function _computePublicInput(
        FinalizationDataV3 calldata _data,
        bytes32 _lastFinalizedShnarf,
        bytes32 _finalShnarf,
        uint256 _lastFinalizedBlock
    ) private pure returns (uint256) {
        bytes memory head = abi.encode(
            _lastFinalizedShnarf,
            _finalShnarf,
            _data.lastFinalizedTimestamp,
            _data.finalTimestamp,
            _lastFinalizedBlock,
            _data.endBlockNumber
        );
        bytes memory tail = abi.encode(
            _data.lastFinalizedL1RollingHash,
            _data.l1RollingHash,
            _data.lastFinalizedL1RollingHashMessageNumber,
            _data.l1RollingHashMessageNumber,
            _data.l2MerkleTreesDepth,
            keccak256(abi.encodePacked(_data.l2MerkleRoots))
        );
        return uint256(keccak256(bytes.concat(head, tail))) % BN254_MODULUS;
    }

    function _verifyProof(uint256 _publicInput, uint256 _proofType, bytes calldata _proof) private {
        address verifier = verifiers[_proofType];
        if (verifier == address(0)) revert InvalidProofType();
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = _publicInput;
        (bool success, bytes memory result) = verifier.call(abi.encodeCall(IProofVerifier.Verify, (_proof, inputs)));
        if (!success) revert InvalidProofOrProofVerificationRanOutOfGas(result);
        if (result.length != 32 || abi.decode(result, (uint256)) != 1) revert InvalidProof();
    }

    // ------------------------------------------------------------------ helpers

    function _computeShnarf(bytes32 parent, bytes32 snarkHash, bytes32 finalStateRoot, bytes32 x, bytes32 y)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(parent, snarkHash, finalStateRoot, x, y));
    }

    function _finalizedState(uint256 messageNumber, bytes32 rollingHash, uint256 timestamp)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(messageNumber, rollingHash, timestamp));
    }

    function _verifyPointEvaluation(bytes32 versionedHash, uint256 reducedX, BlobSubmission calldata blob)
        private
        view
    {
        (bool success, bytes memory result) = POINT_EVALUATION_PRECOMPILE.staticcall(
            abi.encodePacked(versionedHash, reducedX, blob.dataEvaluationClaim, blob.kzgCommitment, blob.kzgProof)
        );
        if (!success) revert PointEvaluationFailed();
        if (result.length != 64) revert PrecompileReturnDataLengthWrong(64, result.length);
        (uint256 fieldElements, uint256 modulus) = abi.decode(result, (uint256, uint256));
        if (fieldElements != FIELD_ELEMENTS_PER_BLOB || modulus != BLS_CURVE_MODULUS) {
            revert PointEvaluationResponseInvalid(fieldElements, modulus);
        }
    }

    /// @dev y = Σ chunk_j·x^j mod r381 by Horner's rule from the last 32-byte chunk; a zero first byte
    /// per chunk keeps every chunk a canonical field element.
    function _evaluateCalldataPolynomial(bytes calldata data, uint256 x) private pure returns (bytes32) {
        if (data.length % 32 != 0) revert BytesLengthNotMultipleOf32();
        uint256 acc;
        for (uint256 end = data.length; end > 0; end -= 32) {
            uint256 chunk = uint256(bytes32(data[end - 32:end]));
            if (chunk >> 248 != 0) revert FirstByteIsNotZero();
            acc = addmod(mulmod(acc, x, BLS_CURVE_MODULUS), chunk, BLS_CURVE_MODULUS);
        }
        return bytes32(acc);
    }
}
