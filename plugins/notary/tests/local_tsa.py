"""A real, local RFC 3161 Time-Stamp Authority for the tests and the bench: ``openssl ts``.

:func:`make_tsa` generates, with the ``openssl`` command, a root CA and a TSA certificate it
signs (extended key usage ``timeStamping``, critical, as RFC 3161 section 2.3 requires), and an
``openssl.cnf`` with a ``[tsa]`` section; :class:`LocalTSA` serves ``openssl ts -reply`` over HTTP
(POST ``application/timestamp-query`` -> ``application/timestamp-reply``, RFC 3161 section 3.4)
from a ``http.server`` thread. ``stop()`` makes it an outage (connection refused).
"""
from __future__ import annotations

import http.server
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

OPENSSL = shutil.which("openssl") or "openssl"

CNF = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = placeholder
[ ca_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1
other_policies = 1.3.6.1.4.1.55555.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _run(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


@dataclass
class TSAFiles:
    """Where :func:`make_tsa` put things: ``dir``, ``cnf``, ``ca_pem`` (root), ``tsa_pem``
    (signer), ``chain_pem`` (signer + root, what a tenant configures as ``tsa_chain``)."""

    dir: Path
    cnf: Path
    ca_pem: Path
    tsa_pem: Path
    chain_pem: Path


def make_tsa(folder: Path, name: str = "TSA de prueba") -> TSAFiles:
    """Create a root CA and a TSA certificate in ``folder`` with ``openssl`` (EC P-256 keys).
    Returns :class:`TSAFiles`. Raises ``subprocess.CalledProcessError`` if openssl fails."""
    folder.mkdir(parents=True, exist_ok=True)
    cnf = folder / "openssl.cnf"
    cnf.write_text(CNF.format(dir=folder))
    (folder / "serial").write_text("01\n")
    _run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=folder)
    _run("req", "-new", "-x509", "-config", str(cnf), "-key", "ca.key", "-subj", "/CN=CA raiz de prueba",
         "-days", "3650", "-extensions", "ca_ext", "-out", "ca.crt", cwd=folder)
    _run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "tsa.key", cwd=folder)
    _run("req", "-new", "-config", str(cnf), "-key", "tsa.key", "-subj", f"/CN={name}", "-out", "tsa.csr", cwd=folder)
    _run("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "3650",
         "-extfile", str(cnf), "-extensions", "tsa_ext", "-out", "tsa.crt", cwd=folder)
    chain = folder / "chain.pem"
    chain.write_bytes((folder / "tsa.crt").read_bytes() + (folder / "ca.crt").read_bytes())
    return TSAFiles(folder, cnf, folder / "ca.crt", folder / "tsa.crt", chain)


def reply(files: TSAFiles, query: bytes) -> bytes:
    """Answer one DER ``TimeStampReq`` with ``openssl ts -reply``; returns the DER ``TimeStampResp``."""
    with tempfile.TemporaryDirectory() as tmp:
        q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
        q.write_bytes(query)
        subprocess.run([OPENSSL, "ts", "-reply", "-config", str(files.cnf), "-queryfile", str(q), "-out", str(r)],
                       check=True, capture_output=True)
        return r.read_bytes()


class LocalTSA:
    """An HTTP TSA on 127.0.0.1 backed by ``openssl ts -reply``. ``url`` once started;
    ``requests`` counts the queries answered; ``delay`` makes each answer wait that many seconds;
    ``stop()`` closes the port (an outage)."""

    def __init__(self, files: TSAFiles, delay: float = 0.0):
        self.files = files
        self.delay = delay  # seconds each answer waits (a slow TSA, for the bench)
        self.requests = 0
        self._server: http.server.ThreadingHTTPServer | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/tsa"

    def start(self) -> "LocalTSA":
        tsa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if tsa.delay:
                    time.sleep(tsa.delay)
                try:
                    data = reply(tsa.files, body)
                except subprocess.CalledProcessError:
                    self.send_response(400)
                    self.end_headers()
                    return
                tsa.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def main(argv=None) -> int:
    """``python -m plugins.notary.tests.local_tsa DIR [--delay S]``: make (once) a CA and TSA in
    DIR and serve it until killed, printing its URL on the first line (the bench runs the TSA in
    its own process, so it does not share the publisher's CPU time and GIL)."""
    import argparse
    import sys
    ap = argparse.ArgumentParser(description="a local openssl ts TSA over HTTP")
    ap.add_argument("dir", type=Path)
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args(argv)
    files = make_tsa(args.dir) if not (args.dir / "chain.pem").exists() else TSAFiles(
        args.dir, args.dir / "openssl.cnf", args.dir / "ca.crt", args.dir / "tsa.crt", args.dir / "chain.pem")
    server = LocalTSA(files, delay=args.delay).start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
