"""The postman inside `linen devnet`: the devnet's chains and contracts, its own key, its RPC on a free port.

Its key is dev account 9 on both chains: funded there, and used by no other devnet component (the
coordinator signs with anvil's first key on L1 and the operator key on L2), so their nonces never
collide. A `[postman]` table in the devnet's config file wins over these defaults.
"""

from __future__ import annotations

from pathlib import Path

from linen.config import load_section_values
from linen.devaccounts import dev_account
from linen.observe.metrics import Metrics
from linen.postman.service import Postman
from linen.postman.settings import settings_from_values

POSTMAN_DEV_ACCOUNT = 9
DEVNET_POSTMAN = {
    "rpc-port": 0,  # any free port; the devnet records it in devnet.json as postman.rpc
    "polling-interval": 1.0,
    "l1-confirmations": 1,  # anvil mines a block every second on the devnet
    "submission-timeout": 20.0,
}


def start_devnet_postman(config_file: Path | None, data_dir: Path, l1_url: str, l2_url: str, rollup: str,
                         l2_message_service: str, metrics: Metrics | None = None) -> Postman:
    key = dev_account(POSTMAN_DEV_ACCOUNT).private_key
    values = load_section_values("postman", config_file, defaults={
        **DEVNET_POSTMAN, "l1-rpc": l1_url, "l2-rpc": l2_url, "rollup": rollup,
        "l2-message-service": l2_message_service, "l1-key": key, "l2-key": key, "data-dir": str(data_dir / "postman"),
    })
    postman = Postman(settings_from_values(values), metrics=metrics)
    postman.start()
    return postman
