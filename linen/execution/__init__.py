"""Execution: the EVM engine interface, its py-evm implementation, and transaction decoding."""
