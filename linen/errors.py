"""One exception root, two families (DESIGN.md convention 6).

`InvalidInput` and its children are expected rejections of untrusted input: the RPC layer turns
them into EIP-1474 errors with the message as written here, so messages must tell a person what to
fix. `OperationalError` is for faults of the node itself (store, disk, configuration).
"""


class LinenError(Exception):
    """Root of every error Linen raises on purpose."""


class InvalidInput(LinenError):
    """Untrusted input was refused; the service keeps running. `code` is the EIP-1474 code."""

    code = -32602


class InvalidParams(InvalidInput):
    code = -32602


class InvalidTransaction(InvalidInput):
    """A transaction was refused by decoding, validation or the pool (EIP-1474 "transaction rejected").

    Messages follow geth's wording ("nonce too low", "insufficient funds for gas * price + value",
    ...) because wallets and libraries such as ethers match on them.
    """

    code = -32003


class TransactionRefused(InvalidTransaction):
    """A sequencer rule refused a transaction; `reason` is Linea's selection-result name.

    The reason goes out in the JSON-RPC error's `data` so a client can tell the rules apart
    without parsing the message.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.rpc_data = {"reason": reason}


class ResourceNotFound(InvalidInput):
    code = -32001


class LimitExceeded(InvalidInput):
    code = -32005


class ExecutionReverted(InvalidInput):
    """eth_call / eth_estimateGas hit a REVERT; `data` carries the revert payload."""

    code = 3

    def __init__(self, message: str, data: bytes = b"") -> None:
        super().__init__(message)
        self.data = data


class OperationalError(LinenError):
    """A fault of the node itself (store, configuration, I/O), not of its input."""


class ConfigError(OperationalError):
    """The configuration or genesis file is unusable; raised at start with the reason."""


class ExecutionTimeout(InvalidInput):
    """An execution ran past its wall-clock budget and was stopped (geth: "execution aborted (timeout = 5s)").

    Raised from inside the EVM's instruction loop, so it unwinds the whole transaction: the caller
    must discard (or revert) the state it ran on.
    """

    code = -32000
