// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LinenNFT} from "../src/LinenNFT.sol";
import {LinenToken} from "../src/LinenToken.sol";

/// @dev The few forge cheatcodes the script uses (forge-std is not needed for them).
interface Vm {
    function envAddress(string calldata name) external view returns (address);
    function envUint(string calldata name) external view returns (uint256);
    function startBroadcast() external;
    function stopBroadcast() external;
}

/// @notice `forge script --broadcast`: a token by CREATE, an NFT by CREATE2 through the canonical
/// deployer (0x4e59…956C, in the devnet genesis) with salt SALT, then a mint to RECIPIENT.
contract Deploy {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function run() external returns (LinenToken token, LinenNFT nft) {
        address recipient = vm.envAddress("RECIPIENT");
        bytes32 salt = bytes32(vm.envUint("SALT"));
        vm.startBroadcast();
        token = new LinenToken(recipient, 1_000_000 ether);
        nft = new LinenNFT{salt: salt}();
        nft.mint(recipient);
        vm.stopBroadcast();
    }
}
