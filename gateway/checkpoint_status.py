"""Each sealing service's latest checkpoint, as the audit witness holds it, for the auditor's
page: how far its log is sealed, whether the checkpoint's signature checks with the published
key, and how many events came after it. A full verification (every event's hash chain
against every witness) reads the databases: that stays ``eldercare audit verify``."""
from __future__ import annotations

from nameko.exceptions import RpcTimeout, UnknownService

from contracts.services import SEALING_SERVICES
from kernel.authenticity import key_dir_of
from kernel.checkpoints import PUBLIC_KEYS_FILE, Checkpoint, CheckpointKeyError, load_public_keys, signature_problem
from kernel.config import repository_path


def public_keys(settings) -> dict | None:
    """The published checkpoint keys (the key directory as the kernel finds it); None when this
    gateway has no copy, and then signatures are shown as not checked rather than as bad."""
    try:
        return load_public_keys(repository_path(f"{key_dir_of(settings)}/{PUBLIC_KEYS_FILE}"))
    except CheckpointKeyError:
        return None


def checkpoint_status(rpc, settings) -> list[dict]:
    keys = public_keys(settings)
    asked = {}
    for source in SEALING_SERVICES:
        asked[source] = (_ask(rpc["audit"].held, source), _ask(rpc[source].ping))
    rows = []
    for source, (held, ping) in asked.items():
        held_list, events = _answer(held), _answer(ping)
        latest = Checkpoint.from_dict(held_list[-1]) if held_list else None
        log_events = events["events"] if isinstance(events, dict) else None
        rows.append({
            "service": source, "witness_answering": held_list is not None, "log_answering": log_events is not None,
            "events": log_events, "tree_size": latest.tree_size if latest else None,
            "sealed_at": latest.sealed_at if latest else None, "key_id": latest.key_id if latest else None,
            "unsealed": (log_events - latest.tree_size) if latest and log_events is not None else None,
            "signature": None if latest is None or keys is None else (signature_problem(latest, keys) or "valid"),
        })
    return rows


def _ask(method, *args):
    try:
        return method.call_async(*args)
    except (UnknownService, RpcTimeout):
        return None


def _answer(reply):
    if reply is None:
        return None
    try:
        return reply.result()
    except (UnknownService, RpcTimeout):
        return None
