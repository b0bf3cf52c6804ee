#!/usr/bin/env node
// TUF metadata made and read by an implementation that is not pylock's:
// @tufjs/models (writer) and tuf-js (client), for integration/tests.
//
//   tuf-tool.js make-registry OUT [--no-consistent] [--expires ISO] [--key-out FILE]
//                             [--bins N | --hash-bins N | --chain N [--loop]] WHEEL...
//       A registry in pylock's layout (pylock-registry(5)) written with
//       @tufjs/models: one new ed25519 key holds every role; the wheels
//       become targets under OUT/targets/.  consistent_snapshot is true (the
//       @tufjs/models default: V.snapshot.json, V.targets.json and
//       targets/SHA256.NAME) unless --no-consistent.  --bins N: targets
//       delegate to N TAP 15 succinct hash bins (bins-HEX), which list the
//       wheels; --hash-bins N (16 or 256): PEP 458's layout, targets delegate
//       "*" to a role "bins", which delegates to N roles bin-HEX by
//       path_hash_prefixes; --chain N: targets delegate "*" to r0, r0 to r1, ...
//       r(N-1), which lists the wheels (--loop: and delegates back to r0).
//   tuf-tool.js resign FILE --key PYLOCK_KEY... [--expires ISO] [--version N]
//       Change fields of FILE's signed part and replace its signatures by
//       ones from pylock private key files (to make validly signed metadata
//       that is expired, or signed by the wrong keys).
//   tuf-tool.js fetch URL ROOT.json TARGET OUTFILE
//       tuf-js's Updater against the registry at URL (metadata at URL/,
//       targets at URL/targets/), anchored at ROOT.json: refresh, then
//       getTargetInfo and downloadTarget.  Prints the top-level versions
//       and "downloaded TARGET LENGTH".
// SPDX-License-Identifier: Apache-2.0
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { canonicalize } = require('@tufjs/canonical-json');

function die(msg) {
  process.stderr.write(`tuf-tool: ${msg}\n`);
  process.exit(1);
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

// An ed25519 private key from its 32-byte seed (PKCS#8 DER prefix + seed).
function keyFromSeed(seed) {
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return crypto.createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' });
}

function publicHex(priv) {
  const der = crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32).toString('hex');
}

function keyObject(pubHex) {
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: pubHex } };
}

// The key id as pylock and python-tuf compute it: sha256 of the canonical
// JSON of the public key object.
function keyId(pubHex) {
  return sha256(Buffer.from(canonicalize(keyObject(pubHex))));
}

function loadPylockKey(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines[0] !== 'pylock-ed25519-private-key-v1' || !/^[0-9a-f]{64}$/.test(lines[1]))
    die(`${file}: not a pylock private key`);
  const priv = keyFromSeed(Buffer.from(lines[1], 'hex'));
  const pub = publicHex(priv);
  return { priv, pub, id: keyId(pub) };
}

function signature(key, signedObj) {
  const bytes = Buffer.from(canonicalize(signedObj));
  return { keyid: key.id, sig: crypto.sign(null, bytes, key.priv).toString('hex') };
}

function writeJSON(file, obj) {
  fs.writeFileSync(file, JSON.stringify(obj, null, 1) + '\n');
}

function parseArgs(argv, flags) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out._.push(a);
      continue;
    }
    const name = a.slice(2);
    if (!(name in flags)) die(`unknown option ${a}`);
    if (flags[name] === 'bool') out[name] = true;
    else if (flags[name] === 'list') (out[name] = out[name] || []).push(argv[++i]);
    else out[name] = argv[++i];
  }
  return out;
}

function makeRegistry(argv) {
  const { Metadata, Root, Targets, Snapshot, Timestamp, Key, TargetFile, MetaFile, Signature } =
    require('@tufjs/models');
  // Not exported by the package index; the classes tuf-js itself uses.
  const { Delegations } = require('@tufjs/models/dist/delegations');
  const { DelegatedRole, SuccinctRoles } = require('@tufjs/models/dist/role');
  const a = parseArgs(argv, {
    'no-consistent': 'bool', expires: 'str', 'key-out': 'str', bins: 'str', 'hash-bins': 'str',
    chain: 'str', loop: 'bool',
  });
  const [out, ...wheels] = a._;
  if (!out || wheels.length === 0) die('make-registry OUT WHEEL...');
  const consistent = !a['no-consistent'];
  const expires = a.expires || new Date(Date.now() + 7 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const pub = publicHex(privateKey);
  const id = keyId(pub);
  if (a['key-out']) {
    const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
    fs.writeFileSync(a['key-out'], `pylock-ed25519-private-key-v1\n${seed.toString('hex')}\n`, { mode: 0o600 });
  }
  // Metadata.sign hands the signer the canonical JSON of the signed part.
  const sign = (signed) => {
    const md = new Metadata(signed);
    md.sign((data) => new Signature({ keyID: id, sig: crypto.sign(null, data, privateKey).toString('hex') }));
    return md.toJSON();
  };

  const root = new Root({ version: 1, specVersion: '1.0.31', expires, consistentSnapshot: consistent });
  const key = new Key({ keyID: id, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: pub } });
  for (const role of ['root', 'targets', 'snapshot', 'timestamp']) root.addKey(key, role);

  fs.mkdirSync(path.join(out, 'targets'), { recursive: true });
  // Delegated roles by name, each with the targets it is to list.
  const roles = {};
  const newTargets = (delegations) =>
    new Targets({ version: 1, specVersion: '1.0.31', expires, delegations });
  let targets, binOf;
  if (a.bins) {
    const bitLength = Math.log2(Number(a.bins));
    const succinct = new SuccinctRoles({ keyIDs: [id], threshold: 1, bitLength, namePrefix: 'bins' });
    targets = newTargets(new Delegations({ keys: { [id]: key }, succinctRoles: succinct }));
    for (const name of succinct.getRoles()) roles[name] = newTargets();
    binOf = (name) => roles[succinct.getRoleForTarget(name)];
  } else if (a['hash-bins']) {
    const width = Number(a['hash-bins']) === 256 ? 2 : 1;
    const children = {};
    for (let i = 0; i < 16 ** width; i++) {
      const prefix = i.toString(16).padStart(width, '0');
      children[`bin-${prefix}`] = new DelegatedRole({
        name: `bin-${prefix}`, keyIDs: [id], threshold: 1, terminating: true, pathHashPrefixes: [prefix],
      });
      roles[`bin-${prefix}`] = newTargets();
    }
    roles.bins = newTargets(new Delegations({ keys: { [id]: key }, roles: children }));
    const top = new DelegatedRole({ name: 'bins', keyIDs: [id], threshold: 1, terminating: false, paths: ['*'] });
    targets = newTargets(new Delegations({ keys: { [id]: key }, roles: { bins: top } }));
    binOf = (name) => roles[`bin-${sha256(Buffer.from(name)).slice(0, width)}`];
  } else if (a.chain) {
    const n = Number(a.chain);
    const to = (name) => new Delegations({
      keys: { [id]: key },
      roles: { [name]: new DelegatedRole({ name, keyIDs: [id], threshold: 1, terminating: false, paths: ['*'] }) },
    });
    targets = newTargets(to('r0'));
    for (let i = 0; i < n; i++)
      roles[`r${i}`] = newTargets(i + 1 < n ? to(`r${i + 1}`) : a.loop ? to('r0') : undefined);
    binOf = () => roles[`r${n - 1}`];
  } else {
    targets = newTargets();
    binOf = () => targets;
  }
  for (const w of wheels) {
    const data = fs.readFileSync(w);
    const name = path.basename(w);
    const hash = sha256(data);
    binOf(name).addTarget(new TargetFile({ path: name, length: data.length, hashes: { sha256: hash } }));
    fs.writeFileSync(path.join(out, 'targets', consistent ? `${hash}.${name}` : name), data);
  }
  const targetsJSON = Buffer.from(JSON.stringify(sign(targets), null, 1) + '\n');
  const meta = { 'targets.json': new MetaFile({ version: 1 }) };
  for (const [name, role] of Object.entries(roles)) {
    writeJSON(path.join(out, consistent ? `1.${name}.json` : `${name}.json`), sign(role));
    meta[`${name}.json`] = new MetaFile({ version: 1 });
  }
  const snapshot = new Snapshot({ version: 1, specVersion: '1.0.31', expires, meta });
  const snapshotJSON = Buffer.from(JSON.stringify(sign(snapshot), null, 1) + '\n');
  const timestamp = new Timestamp({
    version: 1, specVersion: '1.0.31', expires,
    snapshotMeta: new MetaFile({ version: 1, length: snapshotJSON.length, hashes: { sha256: sha256(snapshotJSON) } }),
  });
  const rootJSON = Buffer.from(JSON.stringify(sign(root), null, 1) + '\n');
  fs.writeFileSync(path.join(out, '1.root.json'), rootJSON);
  fs.writeFileSync(path.join(out, 'root.json'), rootJSON);
  fs.writeFileSync(path.join(out, consistent ? '1.targets.json' : 'targets.json'), targetsJSON);
  fs.writeFileSync(path.join(out, consistent ? '1.snapshot.json' : 'snapshot.json'), snapshotJSON);
  writeJSON(path.join(out, 'timestamp.json'), sign(timestamp));
  process.stdout.write(`keyid: ${id}\n`);
}

function resign(argv) {
  const a = parseArgs(argv, { key: 'list', expires: 'str', version: 'str' });
  const [file] = a._;
  if (!file || !a.key) die('resign FILE --key PYLOCK_KEY...');
  const md = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (a.expires) md.signed.expires = a.expires;
  if (a.version) md.signed.version = Number(a.version);
  md.signatures = a.key.map((k) => signature(loadPylockKey(k), md.signed));
  writeJSON(file, md);
}

async function fetchTarget(argv) {
  const { Updater } = require('tuf-js');
  const [url, rootFile, target, outFile] = argv;
  if (!outFile) die('fetch URL ROOT.json TARGET OUTFILE');
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const metadataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tufjs-meta-'));
  fs.copyFileSync(rootFile, path.join(metadataDir, 'root.json'));
  const updater = new Updater({
    metadataBaseUrl: url,
    targetBaseUrl: `${url}/targets`,
    metadataDir,
    targetDir: path.dirname(outFile),
    config: { fetchRetry: 0, fetchTimeout: 20000 },
  });
  await updater.refresh();
  const ts = updater.trustedSet;
  for (const role of ['root', 'timestamp', 'snapshot', 'targets'])
    process.stdout.write(`${role}: version ${ts[role].signed.version}\n`);
  const info = await updater.getTargetInfo(target);
  if (!info) die(`${target}: no such target`);
  await updater.downloadTarget(info, outFile);
  process.stdout.write(`downloaded ${target} ${fs.statSync(outFile).size}\n`);
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'make-registry') return makeRegistry(rest);
  if (cmd === 'resign') return resign(rest);
  if (cmd === 'fetch') return fetchTarget(rest);
  die('usage: tuf-tool.js make-registry|resign|fetch ...');
}

main().catch((e) => die(`${e.name || 'Error'}: ${e.message}`));
