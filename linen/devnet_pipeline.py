"""The devnet's proving pipeline: the coordinator and one prover controller, beside the node.

Both talk to the rest only through the interfaces they use when run apart (DESIGN.md): the
coordinator reaches the node and its state manager over JSON-RPC and L1 through the rollup (and
anchors L1 messages on L2 with the devnet operator's key, which deploying made the anchorer), and the
controller runs `python -m linen.prover.prove` on request files under `<data-dir>/prover`, with the
prover settings written to `<data-dir>/prover.toml`. Each loop is an actor (linen/actors.py) whose
report the node's /health shows, and they count into the node's /metrics; `stop` lets the running
proof finish (or requeues it after a short grace period) and closes the coordinator's store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from linen.actors import ActorSet
from linen.config import NodeConfig, load_section_values
from linen.coordinator.l1_client import RollupClient
from linen.coordinator.service import Coordinator
from linen.coordinator.settings import settings_from_values
from linen.devaccounts import operator_dev_account, prover_dev_account
from linen.l1.anvil import ANVIL_FIRST_KEY
from linen.l1.deploy import Deployment
from linen.postman.devnet import start_devnet_postman
from linen.postman.service import Postman
from linen.prover.controller import Controller
from linen.prover.settings import ControllerSettings

log = logging.getLogger(__name__)

PROOF_TYPE = 0  # the AttestationVerifier
ZK_PROOF_TYPE = 1  # the ZkRootVerifier (linen/l1/zk_setup.py)
ZK_MAX_BLOBS = 4  # circuits/root MAX_BLOBS
NO_SERVICE = "0x" + "00" * 20  # a zk-only chain's L2 message service: none
# A devnet wants finality in seconds, not Linea's minutes: small batches and short deadlines.
DEVNET_COORDINATOR = {
    "blocks-limit": 20,
    "conflation-deadline": 6.0,
    "conflation-deadline-last-block-confirmation-delay": 1.0,
    "batches-limit": 4,
    "aggregation-deadline": 10.0,
    "blobs-limit": 6,
    "polling-interval": 0.5,
    # L1 messages: anchored once 2 of anvil's 1-second blocks hold them (why: linen/devnet.py)
    "anchoring-l1-confirmations": 2,
    "anchoring-polling-interval": 0.5,
}


def write_prover_config(path: Path, root: Path, l1_chain_id: int, verifier: str, l2_chain_id: int,
                        traces_dir: Path, zk: dict[str, str] | None = None) -> Path:
    """The prover's settings file; `zk` adds the validity-proof keys (zk-dir, l1-rpc, zk-verifier-address)."""
    text = (
        "[prover]\n"
        f'requests-root = "{root}"\n'
        f'key = "{prover_dev_account().private_key}"\n'
        f"l1-chain-id = {l1_chain_id}\n"
        f'verifier-address = "{verifier}"\n'
        f"l2-chain-id = {l2_chain_id}\n"
        f'traces-dir = "{traces_dir}"\n'
    )
    if zk:
        text += 'execution-proofs = "zk"\n' + "".join(f'{key} = "{value}"\n' for key, value in zk.items())
    path.write_text(text)
    return path


@dataclass
class DevnetPipeline:
    coordinator: Coordinator
    controller: Controller
    actors: ActorSet  # the coordinator's five and the controller; the node's /health reports them
    postman: Postman | None = None  # claims bridge messages; key: dev account 9 (linen/postman/devnet.py)

    @classmethod
    def start(cls, config: NodeConfig, node, l1_url: str, deployment: Deployment,  # type: ignore[no-untyped-def]
              proofs: str = "exec") -> DevnetPipeline:
        data_dir = config.data_dir
        root = data_dir / "prover"
        verifier = deployment.verifiers[PROOF_TYPE]
        zk = None
        if proofs == "zk":
            zk = {"zk-dir": str(data_dir / "zk"), "l1-rpc": l1_url, "zk-verifier-address": deployment.verifiers[ZK_PROOF_TYPE]}
        prover_config = write_prover_config(data_dir / "prover.toml", root, deployment.l1_chain_id, verifier,
                                            node.chain_id, node.traces_dir, zk)
        devnet_choices = {
            **DEVNET_COORDINATOR,
            "node-rpc": node.rpc.url,
            "state-manager-rpc": node.rpc.url,
            "node-auth-rpc": node.rpc.auth_url or "",
            "state-manager-auth-rpc": node.rpc.auth_url or "",
            "jwt-secret": str(config.jwt_secret),
            "l1-rpc": l1_url,
            "rollup": deployment.rollup,
            "l2-message-service": deployment.l2_message_service,
            "l1-key": ANVIL_FIRST_KEY,
            "l2-key": operator_dev_account().private_key,
            "data-dir": str(data_dir / "coordinator"),
            "prover-root": str(root),
            "traces-dir": str(node.traces_dir),
        }
        if zk:  # no L2 message service, hence no anchoring; the root circuit takes at most 4 blobs
            devnet_choices.update({"l2-message-service": NO_SERVICE, "l2-key": "", "blobs-limit": ZK_MAX_BLOBS})
        # the file's [coordinator] table wins over the devnet's choices
        values = load_section_values("coordinator", config.config_file, defaults=devnet_choices)
        limits = node.trace_limits.regular if getattr(node, "trace_limits", None) is not None else {}
        settings = settings_from_values(values, dict(limits))
        rollup = RollupClient(settings.l1_rpc, settings.rollup, settings.l1_key, data_dir / "artifacts",
                              settings.l1_confirmations, replacement_policy=settings.l1_replacement)
        coordinator = Coordinator(settings, rollup, metrics=node.metrics)
        controller = Controller(ControllerSettings(
            requests_root=root, local_id="prover-devnet", config_file=prover_config,
            retry_delays=(0.0, 0.25, 0.5, 1.0), termination_grace_period=10.0,
            l1_rpc=l1_url, rollup=deployment.rollup,  # retention: finished files go once L1 finalized them
        ))
        controller.metrics = node.metrics
        actors = ActorSet([*coordinator.actors(), controller.actor(interval_s=0.25)])
        actors.start()
        node.actors.extend(actors.actors.values())
        postman = None
        if deployment.l2_message_service is not None:
            postman = start_devnet_postman(config.config_file, data_dir, l1_url, node.rpc.url, deployment.rollup,
                                           deployment.l2_message_service, node.metrics)
            node.actors.extend(postman.actors.actors.values())
        node.view.attach(coordinator=coordinator, controller=controller, postman=postman, endpoints={
            "l1Rpc": l1_url, "l1ChainId": deployment.l1_chain_id, "rollup": deployment.rollup,
            "verifiers": {str(k): v for k, v in deployment.verifiers.items()},
            "l2MessageService": deployment.l2_message_service, "proofs": proofs,
            **({"postmanRpc": postman.rpc.url} if postman is not None else {}),
        })
        return cls(coordinator, controller, actors, postman)

    def stop(self) -> None:
        self.controller.request_stop()
        self.actors.stop(30)
        if self.postman is not None:
            self.postman.stop()
        self.coordinator.close()
