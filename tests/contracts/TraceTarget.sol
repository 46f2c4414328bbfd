// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// The debug-methods workload: nested CALL, STATICCALL, DELEGATECALL, CREATE, CREATE2, a precompile,
// storage writes, logs, a revert with a reason string, a caught inner revert and a custom error.
contract TraceChild {
    uint256 public value;
    event Set(uint256 v);

    constructor(uint256 v) payable {
        value = v;
    }

    function set(uint256 v) external {
        value = v;
        emit Set(v);
    }

    function get() external view returns (uint256) {
        return value;
    }

    function fail(string calldata why) external pure {
        revert(why);
    }
}

contract TraceLib {
    uint256 public slot0;

    function bump(uint256 by) external payable {
        slot0 += by;
    }
}

contract TraceTarget {
    error Custom(uint256 code, address who);
    event Nested(uint256 counter, bytes32 digest);

    uint256 public counter; // slot 0: TraceLib.bump writes it through DELEGATECALL
    mapping(uint256 => uint256) public data;
    TraceChild public child;
    TraceLib public lib;

    constructor() {
        lib = new TraceLib();
    }

    function store(uint256 k, uint256 v) external {
        data[k] = v;
    }

    function nested(uint256 v) external payable returns (uint256) {
        if (address(child) == address(0)) child = new TraceChild{value: msg.value}(v);
        child.set(v + 1);
        uint256 got = child.get();
        (bool ok, ) = address(lib).delegatecall(abi.encodeCall(TraceLib.bump, (got)));
        require(ok, "delegatecall failed");
        try child.fail("inner reason") {} catch {}
        bytes32 digest = sha256(abi.encode(got));
        emit Nested(counter, digest);
        return counter;
    }

    function fail() external {
        data[1] = 7;
        revert("top-level reason");
    }

    function custom() external view {
        revert Custom(42, msg.sender);
    }

    function make2(bytes32 salt) external returns (address) {
        return address(new TraceChild{salt: salt}(5));
    }

    function probe(address who) external view returns (uint256, uint256, bytes32) {
        return (who.balance, who.code.length, who.codehash);
    }
}
