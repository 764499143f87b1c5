"""The SQS queue the daemon watches: long-poll receive and batch delete, errors as `spd.errors`.

Used by `spd.daemon.watch`, which may not import botocore. The client is the gateway's long-lived
SQS client (`Gateway.service_client`), at the same endpoint as Rekognition, so the emulator (moto
serves SQS on its port) and AWS are reached the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from spd.aws.errors import translate
from spd.aws.gateway import Gateway

LONG_POLL_SECONDS = 20
"""SQS's longest wait: one ReceiveMessage call per 20 s on an idle queue."""

MAX_MESSAGES = 10
"""SQS's most messages per ReceiveMessage."""


@dataclass(frozen=True, slots=True)
class QueueMessage:
    message_id: str
    receipt: str
    body: str


class WatchQueue:
    """One queue, read through the gateway's SQS client of its region."""

    def __init__(self, gateway: Gateway, url: str, region: str) -> None:
        self.url = url
        self.region = region
        self._gateway = gateway

    async def _client(self) -> Any:
        return await self._gateway.service_client("sqs", self.region)

    async def receive(self, *, wait_seconds: int = LONG_POLL_SECONDS) -> list[QueueMessage]:
        """Up to `MAX_MESSAGES` messages, waiting up to `wait_seconds` for the first one."""
        client = await self._client()
        try:
            data = await client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=MAX_MESSAGES, WaitTimeSeconds=wait_seconds
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate("ReceiveMessage", exc) from None
        return [
            QueueMessage(str(m.get("MessageId", "")), str(m["ReceiptHandle"]), str(m.get("Body", "")))
            for m in data.get("Messages", [])
        ]

    async def delete(self, messages: list[QueueMessage]) -> list[str]:
        """Delete `messages` (10 per call); the ids SQS could not delete, for the caller to report."""
        client = await self._client()
        failed: list[str] = []
        for start in range(0, len(messages), MAX_MESSAGES):
            batch = messages[start : start + MAX_MESSAGES]
            entries = [{"Id": str(i), "ReceiptHandle": m.receipt} for i, m in enumerate(batch)]
            try:
                data = await client.delete_message_batch(QueueUrl=self.url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise translate("DeleteMessageBatch", exc) from None
            failed.extend(batch[int(f["Id"])].message_id for f in data.get("Failed", []))
        return failed

    async def release(self, message: QueueMessage) -> None:
        """Make `message` visible again at once (ChangeMessageVisibility 0): another reader takes it."""
        client = await self._client()
        try:
            await client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=message.receipt, VisibilityTimeout=0
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate("ChangeMessageVisibility", exc) from None
