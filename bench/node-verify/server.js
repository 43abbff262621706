// The Digital Bazaar peer of bench/verify.sh: POST a credential, get {"verified": bool}.
// eddsa-rdfc-2022 and eddsa-jcs-2022 proofs (DataIntegrityProof), validity dates and the
// revocation bit of its Bitstring Status List, as Credo's POST /api/v1/verify checks them.
// Documents come only from memory: the JSON-LD contexts Credo embeds
// (src/credentials/contexts/) and the issuer's DID document and status lists given in
// DOCUMENTS (a JSON file: {url: document}). Decoded status bits are kept, as Credo keeps them.
//
// Usage: PORT=8091 DOCUMENTS=docs.json node server.js
import {readFileSync} from 'node:fs';
import http from 'node:http';
import {gunzipSync} from 'node:zlib';
import {fileURLToPath} from 'node:url';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';

const contextsDir = fileURLToPath(new URL('../../src/credentials/contexts/', import.meta.url));
const CONTEXTS = {
  'https://www.w3.org/ns/credentials/v2': 'credentials-v2.jsonld',
  'https://www.w3.org/ns/credentials/examples/v2': 'credentials-examples-v2.jsonld',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json': 'ob-v3p0-context-3.0.3.json',
  'https://w3id.org/security/data-integrity/v2': 'data-integrity-v2.jsonld',
  'https://w3id.org/security/multikey/v1': 'multikey-v1.jsonld',
  'https://www.w3.org/ns/did/v1': 'did-v1.jsonld',
  'https://w3id.org/did/v1': 'did-v1.jsonld',
};
const documents = new Map();
for(const [url, file] of Object.entries(CONTEXTS)) {
  documents.set(url, JSON.parse(readFileSync(contextsDir + file, 'utf8')));
}
const given = JSON.parse(readFileSync(process.env.DOCUMENTS, 'utf8'));
for(const [url, doc] of Object.entries(given)) {
  documents.set(url, doc);
  // Verification methods of DID documents, by their ids.
  for(const method of doc.verificationMethod || []) {
    documents.set(method.id, {
      '@context': 'https://w3id.org/security/multikey/v1', ...method
    });
  }
}

const documentLoader = async url => {
  const document = documents.get(url);
  if(!document) {
    throw new Error(`no local copy of ${url}`);
  }
  return {contextUrl: null, documentUrl: url, document};
};

const bitsCache = new Map();
function statusBits(listUrl) {
  let bits = bitsCache.get(listUrl);
  if(!bits) {
    const list = documents.get(listUrl);
    if(!list) {
      throw new Error(`no status list ${listUrl}`);
    }
    const encoded = list.credentialSubject.encodedList;
    bits = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'));
    bitsCache.set(listUrl, bits);
  }
  return bits;
}

async function checkStatus({credential}) {
  const entries = [].concat(credential.credentialStatus || []);
  for(const entry of entries) {
    const index = Number.parseInt(entry.statusListIndex, 10);
    const bits = statusBits(entry.statusListCredential);
    if((bits[index >> 3] >> (7 - (index & 7))) & 1) {
      return {verified: false, error: new Error('revoked')};
    }
  }
  return {verified: true};
}

const suite = [
  new DataIntegrityProof({cryptosuite: rdfc}),
  new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()}),
];

async function verify(credential) {
  const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus});
  return result.verified === true;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', chunk => chunks.push(chunk));
  req.on('end', async () => {
    let verified = false;
    try {
      verified = await verify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch(e) {
      verified = false;
    }
    const body = JSON.stringify({verified});
    res.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)});
    res.end(body);
  });
});
server.listen(Number(process.env.PORT || 8091), '127.0.0.1');
