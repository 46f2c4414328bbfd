"""`linen bridge deposit|withdraw|claim|status`: the user's end of the message bridge, on the command line.

cli.py adds the `bridge` group, importing this module only when `linen bridge` runs (web3 is slow
to import); the bodies live here beside the client they drive. Output is one labelled line per step (sent, anchored or finalized, claimed) with the
transaction hashes, so a person can follow it and a script can grep it; refusals exit with status 1.
"""

from __future__ import annotations

import contextlib
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from web3 import Web3

from linen.bridge.client import (
    POSTMAN_GAVE_UP,
    BridgeClient,
    BridgeEndpoints,
    ChainEvent,
    Direction,
    MessageStatus,
    SentMessage,
    Step,
    eth_to_wei,
    format_eth,
    hex_of,
    parse_message_hash,
)
from linen.errors import InvalidInput, LinenError

DEFAULT_DATA_DIR = ".linen/devnet"
# Account 0 is anvil's first key, which the devnet's coordinator signs its L1 submissions with: a user
# sharing its nonces would race it, so the default is the first funded account no devnet service uses.
DEFAULT_ACCOUNT = 1
LABEL_WIDTH = 10
SHOWN_CALLDATA_BYTES = 32


class EthAmountType(click.ParamType):
    name = "ETH"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, int):
            return value
        try:
            return eth_to_wei(value)
        except InvalidInput as exc:
            self.fail(str(exc), param, ctx)


class HexDataType(click.ParamType):
    name = "HEX"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, bytes):
            return value
        try:
            return bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            self.fail(f"expected 0x-prefixed hex bytes (an even number of digits), got {value!r}", param, ctx)


class AddressType(click.ParamType):
    name = "ADDRESS"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if not Web3.is_address(value):
            self.fail(f"expected a 20-byte 0x address (with a valid checksum if mixed-case), got {value!r}",
                      param, ctx)
        return Web3.to_checksum_address(value)


class MessageHashType(click.ParamType):
    name = "MESSAGE_HASH"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        try:
            return parse_message_hash(value)
        except InvalidInput as exc:
            self.fail(str(exc), param, ctx)


ETH = EthAmountType()
HEX = HexDataType()
ADDRESS = AddressType()
MESSAGE_HASH = MessageHashType()


def _where_options(fn):  # type: ignore[no-untyped-def]
    fn = click.option("--data-dir", default=DEFAULT_DATA_DIR, show_default=True, type=click.Path(path_type=Path),
                      help="The devnet's data dir (its devnet.json names the chains and contracts).")(fn)
    return fn


def _signer_options(fn):  # type: ignore[no-untyped-def]
    fn = click.option("--account", type=int, help=f"Sign with the devnet's funded account N (default {DEFAULT_ACCOUNT}).")(fn)
    fn = click.option("--key", envvar="LINEN_BRIDGE_KEY", help="Private key (0x-hex) to sign with; "
                      "also $LINEN_BRIDGE_KEY.")(fn)
    return _where_options(fn)


def _send_options(fn):  # type: ignore[no-untyped-def]
    options = [
        click.option("--to", required=True, type=ADDRESS, help="Recipient on the other chain."),
        click.option("--value", required=True, type=ETH, help="ETH delivered to --to, e.g. 0.25."),
        click.option("--fee", default="0", type=ETH, show_default=True, help="ETH paid to whoever claims it."),
        click.option("--calldata", default="0x", type=HEX, help="Call made on --to when it is claimed (0x-hex)."),
        click.option("--wait/--no-wait", default=True, show_default=True,
                     help="Follow the message until it is claimed (or it is yours to claim)."),
        click.option("--timeout", default=900.0, show_default=True,
                     help="Seconds --wait follows the message before it gives up (the message stays sent)."),
    ]
    fn = _signer_options(fn)
    for option in reversed(options):
        fn = option(fn)
    return fn


def _client(data_dir: Path, key: str | None = None, account: int | None = None, signs: bool = True) -> BridgeClient:
    endpoints = BridgeEndpoints.from_devnet(data_dir)
    if key is not None and account is not None:
        raise InvalidInput("give either --key or --account, not both")
    if signs and key is None:
        key = endpoints.account_key(DEFAULT_ACCOUNT if account is None else account)
    # the commands it suggests (claim, status) must reach this devnet too, not the default one
    options = "" if Path(data_dir) == Path(DEFAULT_DATA_DIR) else f" --data-dir {shlex.quote(str(data_dir))}"
    return BridgeClient(endpoints, key, command_options=options)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Refusals and unreachable nodes become one clear line and exit status 1, never a traceback."""
    try:
        yield
    except LinenError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot reach a node of the bridge ({exc}): is the devnet running?") from None


def _line(label: str, text: str) -> None:
    click.echo(f"{label:<{LABEL_WIDTH}}{text}".rstrip())
    sys.stdout.flush()


def _tx(event: ChainEvent) -> str:
    return f"{event.chain} tx {hex_of(event.tx_hash)} (block {event.block_number})"


def _calldata(data: bytes) -> str:
    if not data:
        return "none"
    if len(data) <= SHOWN_CALLDATA_BYTES:
        return hex_of(data)
    return f"{len(data)} bytes, {hex_of(data[:SHOWN_CALLDATA_BYTES])}..."


def _print_message(message: SentMessage) -> None:
    _line("sent", _tx(message.sent))
    _line("message", f"{hex_of(message.message_hash)} (nonce {message.nonce}, {message.direction.value})")
    fees = f"fee {format_eth(message.fee)} to the claimer"
    if message.minimum_fee:
        fees += f" + {format_eth(message.minimum_fee)} minimum fee to the L2 sequencer"
    _line("", f"from {message.sender} to {message.recipient}")
    _line("", f"value {format_eth(message.value)}, {fees}, calldata {_calldata(message.calldata)}")


def _print_step(step: Step) -> None:
    if step.event is not None:
        _line(step.name, _tx(step.event))
    elif step.name in ("anchored", "finalized"):
        _line(step.name, "yes (its transaction was not found in the logs)")
    else:
        _line(step.name, step.note)


def _send_and_follow(client: BridgeClient, message: SentMessage, wait: bool, timeout: float) -> None:
    _print_message(message)
    shown = hex_of(message.message_hash)
    if not wait:
        _line("next", f"follow it with `{client.command('status', shown)}`")
        return
    try:
        for step in client.follow(message, timeout):
            _print_step(step)
    except KeyboardInterrupt:
        _line("stopped", f"waiting; the message stays sent: `{client.command('status', shown)}`")
        sys.exit(130)


@click.group()
def bridge() -> None:
    """Move ETH (and calls) between L1 and L2 through the message services; follow and claim messages."""


@bridge.command()
@_send_options
def deposit(to, value, fee, calldata, key, account, data_dir, wait, timeout) -> None:  # type: ignore[no-untyped-def]
    """Send ETH from L1 to L2 (L1 sendMessage); the coordinator anchors it on L2, then it is claimed."""
    with _user_errors():
        client = _client(data_dir, key, account)
        message = client.deposit(to, value, fee, calldata)
        _send_and_follow(client, message, wait, timeout)


@bridge.command()
@_send_options
def withdraw(to, value, fee, calldata, key, account, data_dir, wait, timeout) -> None:  # type: ignore[no-untyped-def]
    """Send ETH from L2 to L1 (L2 sendMessage, plus its minimum fee); claimable on L1 once finalized."""
    with _user_errors():
        client = _client(data_dir, key, account)
        message = client.withdraw(to, value, fee, calldata)
        _send_and_follow(client, message, wait, timeout)


@bridge.command()
@click.argument("message_hash", type=MESSAGE_HASH)
@click.option("--fee-recipient", type=ADDRESS, help="Who gets the message's fee (default: the signer).")
@_signer_options
def claim(message_hash, fee_recipient, key, account, data_dir) -> None:  # type: ignore[no-untyped-def]
    """Claim a message on its destination chain (L2 claimMessage, or L1 claimMessageWithProof)."""
    with _user_errors():
        client = _client(data_dir, key, account)
        result = client.claim(message_hash, fee_recipient)
        message = result.message
        _line("claimed", _tx(result.claim))
        _line("", f"{format_eth(message.value)} delivered to {message.recipient} "
                  f"({message.direction.value}, nonce {message.nonce})")


@bridge.command()
@click.argument("message_hash", type=MESSAGE_HASH)
@_where_options
def status(message_hash, data_dir) -> None:  # type: ignore[no-untyped-def]
    """Where a message is: sent, anchored on L2 or finalized on L1, claimed; with the transactions."""
    with _user_errors():
        client = _client(data_dir, signs=False)
        _print_status(client.status(message_hash), client)


def _print_status(state: MessageStatus, client: BridgeClient) -> None:
    message = state.message
    deposit = message.direction is Direction.DEPOSIT
    _line("message", hex_of(message.message_hash))
    _line("direction", f"{message.direction.value} ({'deposit' if deposit else 'withdrawal'}), nonce {message.nonce}")
    _line("sent", _tx(message.sent))
    _line("", f"from {message.sender} to {message.recipient}")
    _line("", f"value {format_eth(message.value)}, fee {format_eth(message.fee)}, "
              f"calldata {_calldata(message.calldata)}")
    if state.arrived:
        _line(state.arrival_name, _tx(state.arrival) if state.arrival else "yes")
        if not deposit:
            _line("", f"L1 has finalized L2 blocks up to {state.finalized_l2_block}")
    elif deposit:
        _line(state.arrival_name, "no: waiting for the coordinator to anchor it on L2")
    else:
        _line(state.arrival_name, f"no: L1 has finalized L2 blocks up to {state.finalized_l2_block}, the message "
                                  f"is in block {message.sent.block_number}")
    if state.claimed:
        _line("claimed", _tx(state.claim) if state.claim else "yes")
    elif state.arrived:
        _line("claimed", f"no: the postman claims it if it pays a fee, or "
                         f"`{client.command('claim', hex_of(message.message_hash))}`")
    else:
        _line("claimed", "no")
    if state.postman is not None:
        if state.claimed and state.postman.status in POSTMAN_GAVE_UP:
            # its reason ("claim it yourself") is stale once someone did
            _line("postman", f"{state.postman.status}: it left the claim to the message's owner")
        else:
            _line("postman", f"{state.postman.status}: {state.postman.reason}" if state.postman.reason
                  else state.postman.status)
    _line("stage", state.stage)

