#!/usr/bin/env python3
"""An independent eddsa-rdfc-2022 verifier: PyLD (JSON-LD → RDF → URDNA2015/RDFC-1.0 N-Quads) and
`cryptography` (Ed25519), run offline with the same context files Credo embeds.

    verify_eddsa_rdfc.py CREDENTIAL.json DID_DOCUMENT.json

Checks every proof of the credential: DataIntegrityProof, cryptosuite eddsa-rdfc-2022, a
verification method listed in the DID document's assertionMethod and controlled by the
credential's issuer, and the Ed25519 signature over
SHA-256(canonical proof config) ‖ SHA-256(canonical document). Prints one JSON line; exit 0 only
when every proof verifies, 1 when one does not, 2 on bad input. Contexts come only from
src/credentials/contexts/ (any other URL is refused, never fetched).
"""

import hashlib
import json
import pathlib
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyld import jsonld

CONTEXT_DIR = pathlib.Path(__file__).resolve().parents[2] / "src" / "credentials" / "contexts"
CONTEXTS = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
}
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def load_document(url, options=None):
    name = CONTEXTS.get(url)
    if name is None:
        raise jsonld.JsonLdError("no local copy", "jsonld.LoadDocumentError", {"url": url})
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads((CONTEXT_DIR / name).read_text()),
    }


def canonize(doc):
    return jsonld.normalize(
        doc,
        {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": load_document,
            "safe": True,
        },
    )


def b58decode(text):
    number = 0
    for ch in text:
        number = number * 58 + B58.index(ch)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def verify(credential, did_document):
    proofs = credential.pop("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs]
    issuer = credential["issuer"]
    issuer = issuer["id"] if isinstance(issuer, dict) else issuer
    methods = {m["id"]: m for m in did_document.get("verificationMethod", [])}
    canonical_document = canonize(credential)
    for proof in proofs:
        if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != "eddsa-rdfc-2022":
            return False, "not an eddsa-rdfc-2022 DataIntegrityProof"
        vm = proof["verificationMethod"]
        if vm not in did_document.get("assertionMethod", []) or vm not in methods:
            return False, f"{vm} is not an assertion method of the DID document"
        if methods[vm]["controller"] != issuer:
            return False, f"{vm} is not controlled by the issuer {issuer}"
        key = b58decode(methods[vm]["publicKeyMultibase"][1:])
        if key[:2] != b"\xed\x01" or len(key) != 34:
            return False, "not an Ed25519 Multikey"
        config = {k: v for k, v in proof.items() if k != "proofValue"}
        config["@context"] = credential["@context"]
        data = hashlib.sha256(canonize(config).encode()).digest() + hashlib.sha256(
            canonical_document.encode()
        ).digest()
        try:
            Ed25519PublicKey.from_public_bytes(key[2:]).verify(
                b58decode(proof["proofValue"][1:]), data
            )
        except InvalidSignature:
            return False, "the signature does not match"
    return True, f"{len(proofs)} eddsa-rdfc-2022 proof(s) verified"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        credential = json.loads(pathlib.Path(sys.argv[1]).read_text())
        did_document = json.loads(pathlib.Path(sys.argv[2]).read_text())
        ok, detail = verify(credential, did_document)
    except Exception as e:  # any failure to process is a failed verification, reported
        print(json.dumps({"verified": False, "detail": f"{type(e).__name__}: {e}"}))
        return 1
    print(json.dumps({"verified": ok, "detail": detail}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
