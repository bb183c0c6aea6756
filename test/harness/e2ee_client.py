"""
An independent end-to-end encrypting Matrix client for the tests: matrix-nio with libolm
(python-olm), nothing of the bridge's own crypto code path. Driven over stdin/stdout, one
JSON object per line each way: a command {"id", "cmd", ...} gets {"id", "ok", "result"}
or {"id", "ok": false, "error"}. It syncs all the time and keeps every timeline event it
saw, with what nio made of it (decrypted or not, the sending device, trust).

    python e2ee_client.py <homeserver url> <user id> <password> <store dir>
"""
import asyncio
import base64
import io
import json
import sys

from nio import AsyncClient, AsyncClientConfig, Event, MegolmEvent, InviteMemberEvent, LoginResponse
from nio.crypto.attachments import decrypt_attachment
from nio.responses import RoomCreateError, RoomSendError, JoinError, UploadResponse


def describe(room_id, event):
    source = getattr(event, "source", {}) or {}
    return {
        "room_id": room_id,
        "event_id": getattr(event, "event_id", None),
        "sender": getattr(event, "sender", None),
        "type": source.get("type"),
        "content": source.get("content"),
        # nio sets these on events it decrypted; a MegolmEvent is one it could not.
        "encrypted": bool(getattr(event, "decrypted", False)) or isinstance(event, MegolmEvent),
        "decrypted": bool(getattr(event, "decrypted", False)),
        "undecryptable": isinstance(event, MegolmEvent),
        "verified": bool(getattr(event, "verified", False)),
        "sender_key": getattr(event, "sender_key", None),
    }


class Driver:
    def __init__(self, homeserver, user_id, password, store):
        config = AsyncClientConfig(store_sync_tokens=True, encryption_enabled=True)
        self.client = AsyncClient(homeserver, user_id, store_path=store, config=config)
        self.password = password
        self.events = []
        self.seen = set()
        self.invites = []
        self.client.add_event_callback(self.on_event, (Event, MegolmEvent))
        self.client.add_event_callback(self.on_invite, (InviteMemberEvent,))

    async def on_event(self, room, event):
        # A sync run for a send may overlap sync_forever's: the same event can come twice.
        event_id = getattr(event, "event_id", None)
        if event_id is not None:
            if event_id in self.seen:
                return
            self.seen.add(event_id)
        self.events.append(describe(room.room_id, event))

    async def on_invite(self, room, event):
        if event.state_key == self.client.user_id and event.membership == "invite":
            self.invites.append(room.room_id)

    async def login(self, device_name):
        res = await self.client.login(self.password, device_name=device_name)
        if not isinstance(res, LoginResponse):
            raise RuntimeError(f"login failed: {res}")
        await self.client.sync(timeout=0, full_state=True)
        await self.keys()
        asyncio.ensure_future(self.client.sync_forever(timeout=1000, loop_sleep_time=50))
        return {"device_id": self.client.device_id, "ed25519": self.client.olm.account.identity_keys["ed25519"]}

    async def keys(self):
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())

    async def handle(self, msg):
        cmd = msg["cmd"]
        if cmd == "login":
            return await self.login(msg.get("device_name", "nio test client"))
        if cmd == "create_room":
            initial = [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if msg.get("encrypted", True) else []
            res = await self.client.room_create(name=msg.get("name"), invite=msg.get("invite", []), initial_state=initial, is_direct=msg.get("is_direct", False))
            if isinstance(res, RoomCreateError):
                raise RuntimeError(f"room_create: {res}")
            return res.room_id
        if cmd == "join":
            res = await self.client.join(msg["room"])
            if isinstance(res, JoinError):
                raise RuntimeError(f"join: {res}")
            return res.room_id
        if cmd == "send":
            await self.client.sync(timeout=0)
            await self.keys()
            res = await self.client.room_send(msg["room"], msg.get("type", "m.room.message"), msg["content"], ignore_unverified_devices=True)
            if isinstance(res, RoomSendError):
                raise RuntimeError(f"room_send: {res}")
            return res.event_id
        if cmd == "send_image":
            # Encrypted by nio (AES-CTR, its own code), uploaded, sent as a `file` object.
            data = base64.b64decode(msg["bytes"])
            res, keys = await self.client.upload(io.BytesIO(data), content_type=msg["mime"], filename=msg["name"], encrypt=True, filesize=len(data))
            if not isinstance(res, UploadResponse):
                raise RuntimeError(f"upload: {res}")
            content = {"msgtype": "m.image", "body": msg["name"], "info": {"mimetype": msg["mime"], "size": len(data)}, "file": {**keys, "url": res.content_uri}}
            await self.client.sync(timeout=0)
            await self.keys()
            sent = await self.client.room_send(msg["room"], "m.room.message", content, ignore_unverified_devices=True)
            if isinstance(sent, RoomSendError):
                raise RuntimeError(f"room_send: {sent}")
            return sent.event_id
        if cmd == "download_decrypt":
            # Authenticated media (MSC3916), then nio's own attachment decryption (hash checked).
            f = msg["file"]
            server, media_id = f["url"][len("mxc://"):].split("/", 1)
            url = f"{self.client.homeserver}/_matrix/client/v1/media/download/{server}/{media_id}"
            async with self.client.client_session.get(url, headers={"Authorization": f"Bearer {self.client.access_token}"}) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"download: HTTP {resp.status}")
                ciphertext = await resp.read()
            plain = decrypt_attachment(ciphertext, f["key"]["k"], f["hashes"]["sha256"], f["iv"])
            return base64.b64encode(plain).decode()
        if cmd == "new_session":
            # The next message starts a new Megolm session: its key goes out again over to-device.
            self.client.invalidate_outbound_session(msg["room"])
            return None
        if cmd == "redact":
            res = await self.client.room_redact(msg["room"], msg["event"])
            if not hasattr(res, "event_id"):
                raise RuntimeError(f"room_redact: {res}")
            return res.event_id
        if cmd == "events":
            return self.events
        if cmd == "invites":
            return sorted(set(self.invites) | set(self.client.invited_rooms.keys()))
        if cmd == "device_trust":
            # What nio knows of a user's devices and whether it trusts them.
            devices = self.client.device_store.active_user_devices(msg["user"])
            return [{"device_id": d.id, "verified": d.verified, "ed25519": d.ed25519} for d in devices]
        if cmd == "close":
            await self.client.close()
            return None
        raise RuntimeError(f"unknown command {cmd}")


async def main():
    driver = Driver(*sys.argv[1:5])
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        try:
            result = await driver.handle(msg)
            out = {"id": msg["id"], "ok": True, "result": result}
        except Exception as err:  # reported to the test, which fails with it
            out = {"id": msg["id"], "ok": False, "error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
        if msg["cmd"] == "close":
            break


asyncio.run(main())
