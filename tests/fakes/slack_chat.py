"""Fake Slack, chat and files: chat.*, pins.add, reactions.add, files.* (mixed into FakeSlack)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.slack_state import (
    BOT_USER_ID,
    Channel,
    Message,
)

if TYPE_CHECKING:
    pass


class ChatApi:
    """Messages, pins, reactions and file uploads."""

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        text = str(p.get("text") or "")
        if not text and not p.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if len(text) > 40000:
            return {"ok": False, "error": "msg_too_long"}
        problem = self._blocks_problem(p.get("blocks"))
        if problem:
            return {"ok": False, "error": problem}
        thread = p.get("thread_ts") or None
        if thread and not self._find(channel.id, thread):
            return {"ok": False, "error": "thread_not_found"}
        message = Message(channel.id, self._next_ts(), text, p.get("blocks"), BOT_USER_ID, thread)
        self.messages[channel.id].append(message)
        return {"channel": channel.id, "ts": message.ts, "message": {"text": text, "ts": message.ts}}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        message = self._find(channel.id, p.get("ts")) if channel else None
        if channel is None or message is None:
            return {"ok": False, "error": "message_not_found"}
        problem = self._blocks_problem(p.get("blocks"))
        if problem:
            return {"ok": False, "error": problem}
        message.text = str(p.get("text") or message.text)
        if "blocks" in p:
            message.blocks = p["blocks"]
        message.edits += 1
        return {"channel": channel.id, "ts": message.ts, "text": message.text}

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        self.ephemerals.append(p)
        return {"message_ts": self._next_ts()}

    def _m_chat_getPermalink(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "channel": p.get("channel"),
            "permalink": f"https://flare-test.slack.com/archives/{p.get('channel')}/p"
            f"{str(p.get('message_ts', '')).replace('.', '')}",
        }

    def _m_pins_add(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        message = self._find(channel.id, p.get("timestamp")) if channel else None
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.pinned:
            return {"ok": False, "error": "already_pinned"}
        message.pinned = True
        return {}

    def _m_reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not p.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        return {"upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for entry in files:
            file_id = entry.get("id")
            if file_id not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            record = {
                "id": file_id,
                "title": entry.get("title"),
                "channel": p.get("channel_id"),
                "initial_comment": p.get("initial_comment"),
                "content": self.uploads[file_id],
            }
            self.files.append(record)
            done.append({"id": file_id, "title": entry.get("title")})
        return {"files": done}

    @staticmethod
    def _blocks_problem(blocks: Any, limit: int = 50) -> str | None:
        if blocks is None:
            return None
        if not isinstance(blocks, list):
            return "invalid_blocks_format"
        if len(blocks) > limit:
            return "invalid_blocks"
        for block in blocks:
            text = block.get("text") if isinstance(block, dict) else None
            if isinstance(text, dict) and len(str(text.get("text", ""))) > 3000:
                return "invalid_blocks"
            for item in block.get("fields", []) if isinstance(block, dict) else []:
                if len(str(item.get("text", ""))) > 2000:
                    return "invalid_blocks"
            is_header = isinstance(block, dict) and block.get("type") == "header"
            if is_header and len(str((block.get("text") or {}).get("text", ""))) > 150:
                return "invalid_blocks"
        return None


def channel_json(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "creator": channel.creator,
        "is_private": channel.is_private,
        "topic": {"value": channel.topic},
        "num_members": len(channel.members),
    }


def message_json(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text, "user": message.user}
    if message.blocks is not None:
        out["blocks"] = message.blocks
    if message.thread_ts:
        out["thread_ts"] = message.thread_ts
    return out


def multipart_payload(data: bytes, content_type: str) -> bytes:
    """The file bytes of an upload, whether sent raw or as multipart form data."""
    if "multipart/" not in content_type or "boundary=" not in content_type:
        return data
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    for part in data.split(b"--" + boundary):
        if b"\r\n\r\n" in part and b"filename=" in part.split(b"\r\n\r\n", 1)[0]:
            return part.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n")
    return data
