"""A minimal Language Server Protocol client over stdio, enough to drive the YAML language
server (``yaml-language-server``, the engine of the editors' YAML extensions): open documents,
wait for their diagnostics, ask for completions."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

#: Where ``.ci/run`` installs the server (``npm install --prefix``).
DEFAULT_PREFIX = Path.home() / ".cache" / "specc" / "node"
SETTINGS = {"yaml": {"validate": True, "completion": True, "hover": True, "format": {},
                     "schemaStore": {"enable": False}, "schemas": {}}}


def find_server() -> tuple[list[str] | None, str]:
    """The command that starts the server, or None and why it cannot be started."""
    node = shutil.which("node")
    if node is None:
        return None, "Node.js is not installed (the YAML language server runs on it)"
    env = os.environ.get("SPECC_YAML_LANGUAGE_SERVER")
    candidates = [Path(env)] if env else []
    candidates.append(DEFAULT_PREFIX / "node_modules" / "yaml-language-server" / "bin" /
                      "yaml-language-server")
    on_path = shutil.which("yaml-language-server")
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file():
            return [node, str(path), "--stdio"], ""
    return None, ("yaml-language-server is not installed (.ci/run installs it with npm into "
                  f"{DEFAULT_PREFIX}; or set SPECC_YAML_LANGUAGE_SERVER to its bin script)")


class LanguageServer:
    """One server process; requests are answered in order, notifications are queued."""

    def __init__(self, command: list[str], root: Path) -> None:
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.next_id = 0
        self.replies: dict[int, queue.Queue[Any]] = {}
        self.diagnostics: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(),
            "capabilities": {"workspace": {"configuration": True},
                             "textDocument": {"completion": {"completionItem": {}},
                                              "publishDiagnostics": {}}}})
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": SETTINGS})

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while (line := out.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            msg = json.loads(out.read(length))
            if "id" in msg and "method" in msg:  # a request from the server
                result = [SETTINGS["yaml"]] * len(msg["params"]["items"]) \
                    if msg["method"] == "workspace/configuration" else None
                self._send({"id": msg["id"], "result": result})
            elif "id" in msg:
                self.replies[msg["id"]].put(msg)
            elif msg.get("method") == "textDocument/publishDiagnostics":
                self.diagnostics.put(msg["params"])

    def request(self, method: str, params: dict[str, Any], timeout: float = 60) -> Any:
        self.next_id += 1
        replies = self.replies[self.next_id] = queue.Queue()
        self._send({"id": self.next_id, "method": method, "params": params})
        reply = replies.get(timeout=timeout)
        del self.replies[self.next_id]
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result")

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self._send({"method": method, "params": params})

    def open(self, uri: str, text: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Open a document; its first diagnostics."""
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "yaml", "version": 1, "text": text}})
        while True:
            params = self.diagnostics.get(timeout=timeout)
            if params["uri"] == uri:
                return params["diagnostics"]

    def completion(self, uri: str, line: int, character: int) -> list[str]:
        result = self.request("textDocument/completion", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
        items = result.get("items", []) if isinstance(result, dict) else result or []
        return [item["label"] for item in items]

    def hover(self, uri: str, line: int, character: int) -> str:
        result = self.request("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
        return result["contents"]["value"] if result else ""

    def close(self) -> None:
        try:
            self.request("shutdown", {}, timeout=10)
            self.notify("exit", {})
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - a server that does not stop is killed
            self.proc.kill()
            self.proc.wait()
