// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IDataAvailability} from "./interfaces/IDataAvailability.sol";
import {IDisputeManager} from "./interfaces/IDisputeManager.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {UPowHashing} from "./lib/UPowHashing.sol";

/// @title DataAvailability
/// @notice Everything a worker committed is producible on chain on demand (v3 V1): checkpoint
/// leaves, step leaves (up to `MAX_LEAVES` per demand, answered with one range proof) and 8 KiB
/// chunks of states and batches. Proven leaves are stored per job and serve all its disputes.
/// @dev Who may open: inside a live dispute its challenger and its drawn jurors (V4.1); without a
/// dispute the job's assigned auditors during the window (V1.5); checkpoint demands only the
/// DisputeManager (a dispute opened without the leaves, V1.1). An unanswered demand convicts the
/// worker through the DisputeManager. Answers are credited to the job's worker whoever sends them
/// (V4.2). Bonds: refunded on a conviction, otherwise they pay the worker `answerFee` per answer and
/// the rest is refunded (V1.6), settled once the job has ended. The i-th challenge open on a job is
/// due `answerTimeout + i·perAnswerTime` after opening, and each dispute (or auditor) has at most
/// `maxOpenPerCase` open and `maxPerCase` ever (V1.7): flooding cannot outpace an honest worker, and a
/// dispute's own challenges delay only that dispute (V2.2).
contract DataAvailability is IDataAvailability, AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice Most step leaves one demand may ask for (a 64-leaf answer fits any block).
    uint64 public constant MAX_LEAVES = 64;
    uint32 public constant MAX_PER_ANSWER_TIME = 1 days;
    /// @notice Upper bound of `maxPerCase` (challenges one dispute may ever open): 16,384 8 KiB
    /// chunks admit the same state sizes as 4,096 of the former 32 KiB chunks.
    uint16 public constant MAX_PER_CASE = 16384;

    IJobMarket public immutable jobMarket;
    IERC20 public immutable stakingToken;
    IDisputeManager public disputeManager;

    Params private _params;
    uint256 public challengeCount;

    mapping(uint256 challengeId => Challenge) private _challenges;
    /// @dev A stored checkpoint leaf's hashes; whether it is stored is its bit in `_checkpointKnown`.
    struct CheckpointHashes {
        bytes32 stateHash;
        bytes32 stepRoot;
    }

    mapping(uint256 jobId => mapping(uint64 index => CheckpointHashes)) private _checkpoints;
    mapping(uint256 jobId => mapping(uint64 globalStep => bytes32 stateHash)) private _steps;
    /// @dev Which leaves are stored, 256 to a word (issue 17): neighbours share a slot instead of
    /// each opening its own `known` flag. A zero state hash or step root can be a stored leaf.
    mapping(uint256 jobId => mapping(uint256 word => uint256 bits)) private _checkpointKnown;
    mapping(uint256 jobId => mapping(uint256 word => uint256 bits)) private _stepKnown;
    /// @notice Open challenges of a job (finalize waits for zero).
    mapping(uint256 jobId => uint256) public openChallenges;
    mapping(bytes32 caseKey => uint256) private _caseOpen;
    mapping(bytes32 caseKey => uint256) private _caseOpened;
    mapping(uint256 disputeId => uint64) private _lastAnswerAt;
    mapping(address account => uint256) public credits;

    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNOR_ROLE.
    constructor(address admin, IJobMarket jobMarket_, IERC20 stakingToken_, Params memory params_) {
        if (admin == address(0) || address(jobMarket_) == address(0) || address(stakingToken_) == address(0)) {
            revert DataAvailabilityZeroAddress();
        }
        jobMarket = jobMarket_;
        stakingToken = stakingToken_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        _setParams(params_);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IDataAvailability
    function setDisputeManager(IDisputeManager disputeManager_) external onlyRole(GOVERNOR_ROLE) {
        if (address(disputeManager) != address(0)) revert DataAvailabilityDisputeManagerAlreadySet(address(disputeManager));
        if (address(disputeManager_) == address(0)) revert DataAvailabilityZeroAddress();
        disputeManager = disputeManager_;
        emit DisputeManagerSet(address(disputeManager_));
    }

    /// @inheritdoc IDataAvailability
    function setParams(Params calldata params_) external onlyRole(GOVERNOR_ROLE) {
        _setParams(params_);
    }

    // ------------------------------------------------------------------ evidence

    /// @inheritdoc IDataAvailability
    function proveCheckpoint(uint256 jobId, uint64 index, bytes32 stateHash, bytes32 stepRoot, bytes32[] calldata proof)
        external
    {
        _proveCheckpoint(jobId, _submittedJob(jobId), index, stateHash, stepRoot, proof);
    }

    /// @inheritdoc IDataAvailability
    function proveStepLeaves(
        uint256 jobId,
        uint64 interval,
        uint64 first,
        bytes32[] calldata stateHashes,
        bytes32[] calldata rangeProof
    ) external {
        _proveStepLeaves(jobId, _submittedJob(jobId), interval, first, stateHashes, rangeProof);
    }

    // ------------------------------------------------------------------ demands

    /// @inheritdoc IDataAvailability
    /// @dev DisputeManager only: a dispute opened without checkpoint leaves `interval`, `interval+1`.
    /// No bond: the dispute's bond stands for it. Emits {ChallengeOpened}.
    function openCheckpointDemand(uint256 jobId, uint256 disputeId, uint64 interval, address opener)
        external
        returns (uint256 challengeId)
    {
        if (msg.sender != address(disputeManager)) revert DataAvailabilityNotDisputeManager(msg.sender);
        Challenge memory c;
        c.kind = Kind.Checkpoints;
        c.interval = interval;
        return _open(jobId, disputeId, opener, c, 0);
    }

    /// @inheritdoc IDataAvailability
    function demandStepLeaves(uint256 jobId, uint256 disputeId, uint64 interval, uint64 first, uint64 count)
        external
        nonReentrant
        returns (uint256 challengeId)
    {
        IJobMarket.Job memory job = _submittedJob(jobId);
        uint64 k = job.checkpointInterval;
        if (count == 0 || count > MAX_LEAVES || uint256(first) + count > uint256(k) + 1) {
            revert DataAvailabilityInvalidRange(jobId, interval, first, count);
        }
        _requireCheckpoint(jobId, job, interval);
        bool missing;
        for (uint64 i = 0; i < count && !missing; ++i) {
            missing = !_isSet(_stepKnown[jobId], interval * k + first + i);
        }
        if (!missing) revert DataAvailabilityAlreadyKnown(jobId, interval);
        Challenge memory c;
        c.kind = Kind.StepLeaves;
        c.interval = interval;
        c.first = first;
        c.count = count;
        return _open(jobId, disputeId, msg.sender, c, _params.leafBond);
    }

    /// @inheritdoc IDataAvailability
    function challengeStateChunk(uint256 jobId, uint256 disputeId, uint64 interval, uint64 leafIndex, uint64 chunkIndex)
        external
        nonReentrant
        returns (uint256 challengeId)
    {
        IJobMarket.Job memory job = _submittedJob(jobId);
        uint64 k = job.checkpointInterval;
        if (uint256(interval) >= job.totalSteps / k) revert DataAvailabilityInvalidIndex(jobId, interval);
        if (leafIndex > k) revert DataAvailabilityInvalidIndex(jobId, leafIndex);
        uint64 globalStep = interval * k + leafIndex;
        if (!_isSet(_stepKnown[jobId], globalStep)) revert DataAvailabilityUnknownLeaf(jobId, interval, leafIndex);
        Challenge memory c;
        c.kind = Kind.StateChunk;
        c.interval = interval;
        c.first = chunkIndex;
        c.count = leafIndex;
        c.fileHash = _steps[jobId][globalStep];
        return _open(jobId, disputeId, msg.sender, c, _params.chunkBond);
    }

    /// @inheritdoc IDataAvailability
    function challengeBatchChunk(
        uint256 jobId,
        uint256 disputeId,
        uint64 batchIndex,
        bytes32 batchHash,
        bytes32[] calldata dataProof,
        uint64 chunkIndex
    ) external nonReentrant returns (uint256 challengeId) {
        IJobMarket.Job memory job = _submittedJob(jobId);
        if (!UPowHashing.verify(job.dataRoot, job.numBatches, batchIndex, UPowHashing.batchLeaf(batchIndex, batchHash), dataProof)) {
            revert DataAvailabilityInvalidProof(jobId);
        }
        Challenge memory c;
        c.kind = Kind.BatchChunk;
        c.first = chunkIndex;
        c.count = batchIndex;
        c.fileHash = batchHash;
        return _open(jobId, disputeId, msg.sender, c, _params.chunkBond);
    }

    // ------------------------------------------------------------------ answers

    /// @inheritdoc IDataAvailability
    function answerCheckpoints(
        uint256 challengeId,
        bytes32 stateHash,
        bytes32 stepRoot,
        bytes32[] calldata proof,
        bytes32 stateHashNext,
        bytes32 stepRootNext,
        bytes32[] calldata proofNext
    ) external {
        Challenge storage c = _answerable(challengeId, Kind.Checkpoints);
        IJobMarket.Job memory job = jobMarket.getJob(c.jobId);
        _proveCheckpoint(c.jobId, job, c.interval, stateHash, stepRoot, proof);
        _proveCheckpoint(c.jobId, job, c.interval + 1, stateHashNext, stepRootNext, proofNext);
        _answered(challengeId, c);
    }

    /// @inheritdoc IDataAvailability
    function answerStepLeaves(uint256 challengeId, bytes32[] calldata stateHashes, bytes32[] calldata rangeProof)
        external
    {
        Challenge storage c = _answerable(challengeId, Kind.StepLeaves);
        if (stateHashes.length != c.count) revert DataAvailabilityInvalidRange(c.jobId, c.interval, c.first, uint64(stateHashes.length));
        _proveStepLeaves(c.jobId, jobMarket.getJob(c.jobId), c.interval, c.first, stateHashes, rangeProof);
        _answered(challengeId, c);
    }

    /// @inheritdoc IDataAvailability
    function answerChunk(uint256 challengeId, uint64 byteLength, bytes calldata chunk, bytes32[] calldata proof)
        external
    {
        Challenge storage c = _challenges[challengeId];
        if (c.kind != Kind.StateChunk && c.kind != Kind.BatchChunk) revert DataAvailabilityWrongKind(challengeId, c.kind);
        _answerable(challengeId, c.kind);
        if (!_checkChunk(c.fileHash, c.first, byteLength, chunk, proof)) revert DataAvailabilityInvalidChunk(challengeId);
        _answered(challengeId, c);
    }

    /// @inheritdoc IDataAvailability
    function timeoutChallenge(uint256 challengeId) external nonReentrant {
        Challenge storage c = _challenges[challengeId];
        if (c.status != Status.Open) revert DataAvailabilityWrongStatus(challengeId, c.status);
        if (block.timestamp <= c.deadline) revert DataAvailabilityDeadlineNotPassed(challengeId, c.deadline);
        if (_evidenceKnown(c)) {
            _answered(challengeId, c);
            return;
        }
        c.status = Status.TimedOut;
        _closeCase(c);
        uint256 bond = c.bond;
        c.bond = 0;
        _credit(c.opener, bond);
        (IJobMarket.JobStatus status,,,) = jobMarket.jobState(c.jobId);
        bool live = status == IJobMarket.JobStatus.Submitted;
        emit ChallengeTimedOut(challengeId, live);
        // Trusted DisputeManager: convicts the worker and credits the opener's fee here.
        if (live) disputeManager.onUnavailable(c.jobId, c.disputeId, c.opener);
    }

    /// @inheritdoc IDataAvailability
    function settle(uint256 challengeId) external {
        Challenge storage c = _challenges[challengeId];
        if (c.status != Status.Answered) revert DataAvailabilityWrongStatus(challengeId, c.status);
        (IJobMarket.JobStatus status, address worker,,) = jobMarket.jobState(c.jobId);
        if (status == IJobMarket.JobStatus.Submitted) revert DataAvailabilityJobNotOver(c.jobId);
        c.status = Status.Settled;
        uint256 bond = c.bond;
        c.bond = 0;
        uint256 fee = _params.answerFee;
        uint256 toWorker = status == IJobMarket.JobStatus.Rejected ? 0 : (fee < bond ? fee : bond);
        emit ChallengeSettled(challengeId, toWorker, bond - toWorker);
        _credit(worker, toWorker);
        _credit(c.opener, bond - toWorker);
    }

    /// @inheritdoc IDataAvailability
    function withdraw() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert DataAvailabilityNothingToWithdraw(msg.sender);
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        stakingToken.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IDataAvailability
    function checkJobTerms(uint64 k, uint64 stateBytes) external view {
        uint256 needed = (uint256(k) + MAX_LEAVES) / MAX_LEAVES
            + (2 + UPowHashing.depth(k)) * UPowHashing.chunkCount(stateBytes);
        if (needed > _params.maxPerCase) revert DataAvailabilityStateTooLarge(stateBytes, needed, _params.maxPerCase);
    }

    /// @inheritdoc IDataAvailability
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @inheritdoc IDataAvailability
    function getChallenge(uint256 challengeId) external view returns (Challenge memory) {
        return _challenges[challengeId];
    }

    /// @inheritdoc IDataAvailability
    function checkpointLeaf(uint256 jobId, uint64 index) external view returns (CheckpointLeaf memory) {
        CheckpointHashes storage h = _checkpoints[jobId][index];
        return CheckpointLeaf(_isSet(_checkpointKnown[jobId], index), h.stateHash, h.stepRoot);
    }

    /// @inheritdoc IDataAvailability
    function stepLeaf(uint256 jobId, uint64 globalStep) external view returns (StepLeaf memory) {
        return StepLeaf(_isSet(_stepKnown[jobId], globalStep), _steps[jobId][globalStep]);
    }

    /// @inheritdoc IDataAvailability
    function disputeActivity(uint256 disputeId) external view returns (uint256 open, uint64 lastAnswerAt) {
        return (_caseOpen[bytes32(disputeId)], _lastAnswerAt[disputeId]);
    }

    // ------------------------------------------------------------------ internals

    function _submittedJob(uint256 jobId) private view returns (IJobMarket.Job memory job) {
        job = jobMarket.getJob(jobId);
        if (job.status != IJobMarket.JobStatus.Submitted) revert DataAvailabilityJobNotActive(jobId);
    }

    function _requireCheckpoint(uint256 jobId, IJobMarket.Job memory job, uint64 interval) private view {
        if (uint256(interval) >= job.totalSteps / job.checkpointInterval) revert DataAvailabilityInvalidIndex(jobId, interval);
        if (!_isSet(_checkpointKnown[jobId], interval)) revert DataAvailabilityUnknownLeaf(jobId, interval, 0);
    }

    function _proveCheckpoint(
        uint256 jobId,
        IJobMarket.Job memory job,
        uint64 index,
        bytes32 stateHash,
        bytes32 stepRoot,
        bytes32[] calldata proof
    ) private {
        uint256 n = uint256(job.totalSteps) / job.checkpointInterval + 1;
        if (!UPowHashing.verify(job.checkpointRoot, n, index, UPowHashing.checkpointLeaf(index, stateHash, stepRoot), proof)) {
            revert DataAvailabilityInvalidProof(jobId);
        }
        mapping(uint256 => uint256) storage known = _checkpointKnown[jobId];
        if (_isSet(known, index)) return;
        _set(known, index);
        _checkpoints[jobId][index] = CheckpointHashes(stateHash, stepRoot);
        emit CheckpointProven(jobId, index, stateHash, stepRoot);
    }

    function _proveStepLeaves(
        uint256 jobId,
        IJobMarket.Job memory job,
        uint64 interval,
        uint64 first,
        bytes32[] calldata stateHashes,
        bytes32[] calldata rangeProof
    ) private {
        uint64 k = job.checkpointInterval;
        uint256 count = stateHashes.length;
        if (count == 0 || count > MAX_LEAVES || uint256(first) + count > uint256(k) + 1) {
            revert DataAvailabilityInvalidRange(jobId, interval, first, uint64(count));
        }
        _requireCheckpoint(jobId, job, interval);
        uint64 base = interval * k + first;
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            leaves[i] = UPowHashing.stepLeaf(base + uint64(i), stateHashes[i]);
        }
        if (!UPowHashing.verifyRange(_checkpoints[jobId][interval].stepRoot, uint256(k) + 1, first, leaves, rangeProof)) {
            revert DataAvailabilityInvalidProof(jobId);
        }
        _storeSteps(jobId, base, stateHashes);
        emit StepLeavesProven(jobId, interval, first, stateHashes);
    }

    /// @dev Checks the opener, the caps, takes the bond and records the challenge.
    function _open(uint256 jobId, uint256 disputeId, address opener, Challenge memory c, uint256 bond)
        private
        returns (uint256 challengeId)
    {
        IJobMarket.Job memory job = _submittedJob(jobId);
        if (c.kind != Kind.Checkpoints) _checkOpener(jobId, job, disputeId, opener);
        bytes32 key = _caseKey(jobId, disputeId, opener);
        Params storage p = _params;
        uint256 open = _caseOpen[key];
        if (open >= p.maxOpenPerCase) revert DataAvailabilityTooManyOpen(jobId, disputeId, open);
        uint256 opened = _caseOpened[key];
        if (opened >= p.maxPerCase) revert DataAvailabilityTooManyChallenges(jobId, disputeId, opened);
        _caseOpen[key] = open + 1;
        _caseOpened[key] = opened + 1;
        uint256 queued = openChallenges[jobId]++;
        c.jobId = jobId;
        c.disputeId = disputeId;
        c.opener = opener;
        c.status = Status.Open;
        c.bond = bond;
        c.deadline = uint64(block.timestamp + jobMarket.answerTimeout(jobId) + queued * p.perAnswerTime);
        challengeId = ++challengeCount;
        _challenges[challengeId] = c;
        _emitOpened(challengeId, c);
        if (bond > 0) stakingToken.safeTransferFrom(opener, address(this), bond);
    }

    function _emitOpened(uint256 challengeId, Challenge memory c) private {
        emit ChallengeOpened(
            challengeId, c.jobId, c.disputeId, c.opener, c.kind, c.interval, c.first, c.count, c.fileHash, c.deadline
        );
    }

    /// @dev V4.1 / V1.5: inside a dispute its challenger and drawn jurors; without one, the job's
    /// assigned auditors during the window.
    function _checkOpener(uint256 jobId, IJobMarket.Job memory job, uint256 disputeId, address opener) private view {
        bool allowed;
        if (disputeId != 0) {
            allowed = disputeManager.isChallengeParty(jobId, disputeId, opener);
        } else {
            allowed = block.timestamp <= job.windowEnd && jobMarket.auditManager().isAuditor(jobId, opener);
        }
        if (!allowed) revert DataAvailabilityNotAllowed(jobId, disputeId, opener);
    }

    function _caseKey(uint256 jobId, uint256 disputeId, address opener) private pure returns (bytes32) {
        return disputeId != 0 ? bytes32(disputeId) : keccak256(abi.encode(jobId, opener));
    }

    function _answerable(uint256 challengeId, Kind kind) private view returns (Challenge storage c) {
        c = _challenges[challengeId];
        if (c.kind != kind) revert DataAvailabilityWrongKind(challengeId, c.kind);
        if (c.status != Status.Open) revert DataAvailabilityWrongStatus(challengeId, c.status);
        if (block.timestamp > c.deadline) revert DataAvailabilityDeadlinePassed(challengeId, c.deadline);
    }

    function _answered(uint256 challengeId, Challenge storage c) private {
        c.status = Status.Answered;
        _closeCase(c);
        if (c.disputeId != 0) _lastAnswerAt[c.disputeId] = uint64(block.timestamp);
        emit ChallengeAnswered(challengeId, msg.sender);
    }

    function _closeCase(Challenge storage c) private {
        --_caseOpen[_caseKey(c.jobId, c.disputeId, c.opener)];
        --openChallenges[c.jobId];
    }

    /// @dev Whether a leaf demand was satisfied by evidence that arrived another way.
    function _evidenceKnown(Challenge storage c) private view returns (bool) {
        if (c.kind == Kind.Checkpoints) {
            mapping(uint256 => uint256) storage known = _checkpointKnown[c.jobId];
            return _isSet(known, c.interval) && _isSet(known, uint256(c.interval) + 1);
        }
        if (c.kind == Kind.StepLeaves) {
            (, uint64 k) = jobMarket.jobSteps(c.jobId);
            uint64 base = c.interval * k + c.first;
            for (uint64 i = 0; i < c.count; ++i) {
                if (!_isSet(_stepKnown[c.jobId], base + i)) return false;
            }
            return true;
        }
        return false;
    }

    function _checkChunk(bytes32 fileHash, uint64 chunkIndex, uint64 byteLength, bytes calldata chunk, bytes32[] calldata proof)
        private
        pure
        returns (bool)
    {
        if (byteLength == 0) return false;
        uint256 count = UPowHashing.chunkCount(byteLength);
        uint256 index = chunkIndex < count ? chunkIndex : count - 1;
        uint256 expected = index + 1 < count ? UPowHashing.CHUNK_SIZE : byteLength - (count - 1) * UPowHashing.CHUNK_SIZE;
        if (chunk.length != expected) return false;
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = UPowHashing.chunkLeaf(chunk);
        bytes32 root = UPowHashing.rangeRoot(count, index, leaves, proof);
        return root != bytes32(0) && UPowHashing.fileHash(byteLength, root) == fileHash;
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        credits[account] += amount;
        emit Credited(account, amount);
    }

    function _setParams(Params memory p) private {
        if (p.answerFee == 0) revert DataAvailabilityInvalidParam("answerFee");
        if (p.leafBond < p.answerFee) revert DataAvailabilityInvalidParam("leafBond");
        if (p.chunkBond < p.answerFee) revert DataAvailabilityInvalidParam("chunkBond");
        if (p.openerFee > p.chunkBond) revert DataAvailabilityInvalidParam("openerFee");
        if (p.perAnswerTime == 0 || p.perAnswerTime > MAX_PER_ANSWER_TIME) revert DataAvailabilityInvalidParam("perAnswerTime");
        if (p.maxOpenPerCase == 0 || p.maxPerCase < p.maxOpenPerCase) revert DataAvailabilityInvalidParam("maxOpenPerCase");
        if (p.maxPerCase > MAX_PER_CASE) revert DataAvailabilityInvalidParam("maxPerCase");
        _params = p;
        emit ParamsUpdated(p);
    }

    function _storeSteps(uint256 jobId, uint64 base, bytes32[] calldata stateHashes) private {
        mapping(uint64 => bytes32) storage steps = _steps[jobId];
        mapping(uint256 => uint256) storage known = _stepKnown[jobId];
        for (uint256 i = 0; i < stateHashes.length; ++i) {
            steps[base + uint64(i)] = stateHashes[i];
            _set(known, base + i);
        }
    }

    function _isSet(mapping(uint256 => uint256) storage bits, uint256 i) private view returns (bool) {
        return (bits[i >> 8] >> (i & 0xff)) & 1 == 1;
    }

    function _set(mapping(uint256 => uint256) storage bits, uint256 i) private {
        bits[i >> 8] |= 1 << (i & 0xff);
    }
}
