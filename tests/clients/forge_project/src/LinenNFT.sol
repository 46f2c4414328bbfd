// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @notice An OpenZeppelin ERC-721 anyone may mint from, with sequential token ids from 1.
contract LinenNFT is ERC721 {
    uint256 public minted;

    constructor() ERC721("Linen Forge NFT", "LFN") {}

    function mint(address to) external returns (uint256 tokenId) {
        tokenId = ++minted;
        _safeMint(to, tokenId);
    }
}
