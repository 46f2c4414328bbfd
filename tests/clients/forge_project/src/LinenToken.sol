// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An OpenZeppelin ERC-20: the whole supply goes to `holder`.
contract LinenToken is ERC20 {
    constructor(address holder, uint256 supply) ERC20("Linen Forge Token", "LFT") {
        _mint(holder, supply);
    }
}
