"""Whatever the broker carries onto a consumer's queue is parked, listed and replayed, not a
crash of the recovery tool: JSON that is not an object, bytes that are not JSON or not
UTF-8, an empty body (``kernel.parked``, ``eldercare parked list|replay``)."""
import json

import amqp
import kombu
import yaml
from typer.testing import CliRunner

from cli.app import app
from kernel.parked import list_parked, replay_parked
from tests.kernel.test_delivery import SINK_QUEUE, system, wait_for  # noqa: F401 - the fixture

BODIES = {"a JSON list": b'[{"id": "x"}, 2]', "a JSON string": b'"registry.elder_died.v1"',
          "a JSON number": b"42", "not JSON": b"<xml>nope</xml>", "not UTF-8": b"\xff\xfe\x00\x81",
          "empty": b""}


def publish_raw(uri: str) -> None:
    with kombu.Connection(uri) as connection:
        channel = connection.channel()
        for name, body in BODIES.items():
            channel.basic_publish_confirm(amqp.Message(body, message_id=name, delivery_mode=2),
                                          exchange="", routing_key=SINK_QUEUE)
        channel.close()


def test_any_body_is_parked_listed_and_replayed(system, tmp_path):  # noqa: F811
    uri = system.sink.config["AMQP_URI"]
    system.start()
    publish_raw(uri)
    wait_for(lambda: len(list_parked(uri, SINK_QUEUE)) == len(BODIES), message="every body parked")
    parked = {row.event_id: row for row in list_parked(uri, SINK_QUEUE)}
    assert set(parked) == set(BODIES)
    assert parked["a JSON list"].body_note == "JSON list, not an object"
    assert parked["not UTF-8"].body_note == "4 bytes, not UTF-8" and parked["empty"].body_note == "empty body"
    assert not any(row.retryable for row in parked.values())     # refused: not replayed by the consumer

    config = tmp_path / "cli.yml"
    config.write_text(yaml.safe_dump({"AMQP_URI": uri}))
    listed = CliRunner().invoke(app, ["--config", str(config), "parked", "list", SINK_QUEUE, "--json"])
    assert listed.exit_code == 0, listed.output
    assert {row["event_id"] for row in json.loads(listed.output)} == set(BODIES)
    table = CliRunner().invoke(app, ["--config", str(config), "parked", "list", SINK_QUEUE])
    assert table.exit_code == 0 and "no (refused)" in table.output, table.output

    with kombu.Connection(uri) as connection:     # what a replay puts back, byte for byte
        system.sink.stop()
        assert sorted(replay_parked(uri, SINK_QUEUE)) == sorted(BODIES)
        channel = connection.channel()
        bodies = {}
        while (message := channel.basic_get(SINK_QUEUE, no_ack=True)) is not None:
            body = message.body          # amqp decodes a body its content_encoding can decode
            if isinstance(body, str):
                body = body.encode(message.properties["content_encoding"])
            bodies[message.properties["message_id"]] = body
        assert bodies == BODIES
