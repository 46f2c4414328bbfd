"""The chain: genesis, the block/receipt/log store and its indexes."""
