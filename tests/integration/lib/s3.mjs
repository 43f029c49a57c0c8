// s3.mjs - a throwaway S3 for node integration tests: the npm `s3rver` (3.7.1)
// as a child process, and in front of it a front of our own that does what
// s3rver does not.
//
//   import { startS3 } from './lib/s3.mjs';
//   const s3 = await startS3({ bucket: 'bronze' });
//   try { ... s3.env ... await s3.list('prefix/') ... } finally { await s3.stop(); }
//   await withS3(async (s3) => { ... });   // stops it whatever happens
//
// The front (node `http` on its own free loopback port) for every request:
// - recomputes the AWS Signature V4 of the Authorization header (an
//   implementation of its own over node `crypto`, checked against AWS's
//   published example in s3_front.test.mjs) with the test's keys: 403
//   SignatureDoesNotMatch (InvalidAccessKeyId, AuthorizationHeaderMalformed,
//   AccessDenied for unsigned x-amz-* headers or a skewed clock) otherwise;
// - verifies `x-amz-content-sha256` (UNSIGNED-PAYLOAD or the hex sha256 of
//   the body; aws-chunked streaming is refused with 400), `Content-MD5`,
//   `x-amz-checksum-sha256` and `x-amz-checksum-crc32` when sent (400 BadDigest);
// - emulates AbortMultipartUpload, ListParts and ListMultipartUploads (s3rver
//   answers 405) and records every upload's life (`uploads()`);
// - injects faults (500 InternalError, 503 SlowDown, connection dropped while
//   reading the request body or while sending the response, a stall), set at
//   start (`faults`) or at run time (`setFaults`);
// - forwards the rest to s3rver and streams the answer back;
// - logs every request: {seq, time, ms, method, path, bucket, key, query, op, status, fault, error, bytes,
//   checked (digests verified), copySource, deleteKeys (DeleteObjects, at most 1000 or 400)}.
//
// Everything started here is stopped when the process exits (normal exit,
// uncaught error, SIGINT/SIGTERM), as lib/pg.mjs does.
//
// Note: the front lives in the test's own process, so the binary must be run
// without blocking the event loop (`runAsync` in harness.mjs, not `run`).
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client, ListObjectsV2Command, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const s3rverBin = path.join(repo, 'node_modules/s3rver/bin/s3rver.js');

// ---------------------------------------------------------------- cleanup
const live = new Set(); // {child, dir}
function killAllSync() {
  for (const l of [...live]) {
    try { l.child.kill('SIGKILL'); } catch { /* gone */ }
    try { rmSync(l.dir, { recursive: true, force: true }); } catch { /* best effort */ }
    live.delete(l);
  }
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAllSync();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}

// ---------------------------------------------------------------- SigV4
const sha256hex = (b) => createHash('sha256').update(b).digest('hex');
const hmac = (k, s) => createHmac('sha256', k).update(s).digest();

/** RFC 3986 encoding as SigV4 wants it: unreserved kept, everything else %XX (upper case). */
export function uriEncode(s, keepSlash = false) {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function pctDecode(s) {
  // '+' is a literal plus in S3 request targets, never a space
  return decodeURIComponent(s);
}

/** The canonical URI of a raw (still encoded) request path: decoded, then each segment encoded once. */
export function canonicalUri(rawPath) {
  return rawPath.split('/').map((seg) => uriEncode(pctDecode(seg))).join('/') || '/';
}

/** The canonical query string of a raw query string (no leading '?'). */
export function canonicalQuery(rawQuery) {
  if (!rawQuery) return '';
  const pairs = rawQuery.split('&').filter((p) => p !== '').map((p) => {
    const i = p.indexOf('=');
    const name = i < 0 ? p : p.slice(0, i);
    const value = i < 0 ? '' : p.slice(i + 1);
    return [uriEncode(pctDecode(name)), uriEncode(pctDecode(value))];
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/**
 * The canonical request, string to sign and signature of a request.
 * headers: [[name, value], ...] as sent (duplicates allowed); signedHeaders: lowercase names.
 */
export function sigv4({ method, rawPath, rawQuery, headers, signedHeaders, payloadHash, amzDate, region, service = 's3', secretKey }) {
  const canonHeaders = signedHeaders.map((h) => {
    const vals = headers.filter(([n]) => n.toLowerCase() === h).map(([, v]) => String(v).trim().replace(/\s+/g, ' '));
    return `${h}:${vals.join(',')}\n`;
  }).join('');
  const canonicalRequest = [method, canonicalUri(rawPath), canonicalQuery(rawQuery), canonHeaders,
    signedHeaders.join(';'), payloadHash].join('\n');
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${secretKey}`, date);
  const kSigning = hmac(hmac(hmac(kDate, region), service), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(stringToSign).digest('hex');
  return { canonicalRequest, stringToSign, signature, scope };
}

function parseAuthorization(h) {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(h || '');
  if (!m) return null;
  const parts = {};
  for (const kv of m[1].split(/\s*,\s*/)) {
    const i = kv.indexOf('=');
    if (i > 0) parts[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
  }
  if (!parts.Credential || !parts.SignedHeaders || !parts.Signature) return null;
  const cred = parts.Credential.split('/');
  if (cred.length !== 5) return null;
  return { accessKey: cred[0], date: cred[1], region: cred[2], service: cred[3], term: cred[4],
    signedHeaders: parts.SignedHeaders.split(';'), signature: parts.Signature };
}

// ---------------------------------------------------------------- helpers
let crcTable;
function crc32(buf) {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ -1) >>> 0);
  return out;
}

const xmlEsc = (s) => String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]);

const unXml = (s) => s.replace(/&(lt|gt|amp|apos|quot|#x?[0-9a-fA-F]+);/g, (m, e) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e] ??
  String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)));

function errorXml(code, message, resource, extra = {}) {
  const more = Object.entries(extra).map(([k, v]) => `<${k}>${xmlEsc(v)}</${k}>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEsc(message)}</Message>` +
    `<Resource>${xmlEsc(resource)}</Resource><RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId>${more}</Error>`;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A small deterministic PRNG (mulberry32) so a fault run can be reproduced. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The S3 operation a request is (by method, query and path). */
export function classify(method, bucket, key, q, headers) {
  if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Unknown';
  if (!key) {
    if (method === 'GET') {
      if ('uploads' in q) return 'ListMultipartUploads';
      if ('location' in q) return 'GetBucketLocation';
      return q['list-type'] === '2' ? 'ListObjectsV2' : 'ListObjects';
    }
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'PUT') return 'CreateBucket';
    if (method === 'POST' && 'delete' in q) return 'DeleteObjects';
    if (method === 'DELETE') return 'DeleteBucket';
    return 'Unknown';
  }
  if (method === 'PUT') {
    if ('uploadId' in q) return headers['x-amz-copy-source'] ? 'UploadPartCopy' : 'UploadPart';
    return headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
  }
  if (method === 'POST') {
    if ('uploads' in q) return 'CreateMultipartUpload';
    if ('uploadId' in q) return 'CompleteMultipartUpload';
    return 'Unknown';
  }
  if (method === 'GET') return 'uploadId' in q ? 'ListParts' : 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'DELETE') return 'uploadId' in q ? 'AbortMultipartUpload' : 'DeleteObject';
  return 'Unknown';
}

const FAULT_ALIASES = { 500: 'InternalError', 503: 'SlowDown', InternalError: 'InternalError', SlowDown: 'SlowDown',
  'drop-request': 'drop-request', 'drop-response': 'drop-response', stall: 'stall' };

/**
 * Fault rules: one object or an array of them; null/undefined clears.
 *   { modes: ['InternalError'|'SlowDown'|500|503|'drop-request'|'drop-response'|'stall', ...],
 *     rate: 0.2            share of matching requests (seeded PRNG: `seed`, default 1), or
 *     every: N             every Nth matching request (deterministic), or neither: all of them;
 *     ops: ['UploadPart', 'PutObject', ...]   S3 operations it applies to (default all),
 *     match: (entry) => bool                   further filter on the log entry,
 *     limit: N             at most N faults from this rule,
 *     stallMs: 5000        for 'stall': hold the request this long, then carry on }
 * Modes of a rule are used in turn.
 */
function compileFaults(f) {
  if (!f) return [];
  return (Array.isArray(f) ? f : [f]).map((r) => {
    const modes = (r.modes || [r.mode || 'InternalError']).map((m) => {
      const k = FAULT_ALIASES[m];
      if (!k) throw new Error(`unknown fault mode ${m}`);
      return k;
    });
    return { ...r, modes, seen: 0, fired: 0, rand: prng(r.seed ?? 1) };
  });
}

function pickFault(rules, entry) {
  for (const r of rules) {
    if (r.ops && !r.ops.includes(entry.op)) continue;
    if (r.match && !r.match(entry)) continue;
    if (r.limit !== undefined && r.fired >= r.limit) continue;
    r.seen++;
    let hit;
    if (r.every) hit = r.seen % r.every === 0;
    else if (r.rate !== undefined) hit = r.rand() < r.rate;
    else hit = true;
    if (!hit) continue;
    const mode = r.modes[r.fired % r.modes.length];
    r.fired++;
    return { mode, stallMs: r.stallMs ?? 5000 };
  }
  return null;
}

// ---------------------------------------------------------------- s3rver
async function startS3rver(dir, buckets) {
  const port = await freePort();
  const args = ['--openssl-legacy-provider', s3rverBin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '-s'];
  for (const b of buckets) args.push('--configure-bucket', b);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { child, dir };
  live.add(entry);
  let out = '';
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`s3rver did not start in 20 s: ${out}`)), 20000);
    const onData = (d) => {
      out += d;
      if (/listening on/.test(out)) { clearTimeout(t); resolve(); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => { out += d; });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`s3rver exited (${code}): ${out}`)); });
  });
  child.stdout.resume();
  child.stderr.resume();
  return { child, port, entry };
}

// ---------------------------------------------------------------- the front
/**
 * Starts s3rver and the front. Options:
 *   bucket ('bronze'), buckets (extra ones), accessKey, secretKey, region ('us-east-1'),
 *   faults (see compileFaults), maxSkewSeconds (900).
 */
export async function startS3(opts = {}) {
  const bucket = opts.bucket || 'bronze';
  const buckets = [bucket, ...(opts.buckets || []).filter((b) => b !== bucket)];
  const accessKey = opts.accessKey || 'AKIABRONZETEST' + randomBytes(3).toString('hex').toUpperCase();
  // a secret with '/' and '+' in it, as real ones have
  const secretKey = opts.secretKey || randomBytes(30).toString('base64');
  const region = opts.region || 'us-east-1';
  const maxSkew = (opts.maxSkewSeconds ?? 900) * 1000;
  const dir = mkdtempSync(path.join(tmpdir(), 'bronze-s3-'));
  const upstream = await startS3rver(dir, buckets);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  const requests = [];
  let rules = compileFaults(opts.faults);
  let seq = 0;
  const uploads = new Map(); // uploadId -> {bucket, key, state, parts: Map}
  const sockets = new Set();

  function send(res, entry, status, body, headers = {}) {
    entry.status = status;
    const buf = Buffer.from(body || '');
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': buf.length, ...headers });
    res.end(buf);
  }
  function fail(res, entry, status, code, message, extra) {
    entry.error = code;
    send(res, entry, status, errorXml(code, message, entry.path, extra));
  }

  // the body's sha256, computed once per request
  const bodySha = (entry, body) => entry._sha || (entry._sha = createHash('sha256').update(body).digest());

  function checkAuth(req, entry, body, rawPath, rawQuery) {
    const auth = parseAuthorization(req.headers.authorization);
    if (!auth) {
      if (/X-Amz-Signature=/i.test(rawQuery)) return [403, 'AccessDenied', 'this test front checks header authentication only'];
      return [403, 'AccessDenied', 'Anonymous access is not allowed: no AWS4-HMAC-SHA256 Authorization header'];
    }
    if (auth.accessKey !== accessKey) return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'];
    const amzDate = req.headers['x-amz-date'];
    if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return [400, 'AuthorizationHeaderMalformed', 'x-amz-date missing or not YYYYMMDDTHHMMSSZ'];
    if (auth.date !== amzDate.slice(0, 8)) return [400, 'AuthorizationHeaderMalformed', `credential date ${auth.date} is not the date of x-amz-date ${amzDate}`];
    if (auth.region !== region) return [400, 'AuthorizationHeaderMalformed', `the region '${auth.region}' is wrong; expecting '${region}'`, { Region: region }];
    if (auth.service !== 's3' || auth.term !== 'aws4_request') return [400, 'AuthorizationHeaderMalformed', 'credential scope must end in s3/aws4_request'];
    const t = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
    if (Math.abs(Date.now() - t) > maxSkew) return [403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'];
    const signed = auth.signedHeaders;
    const sorted = [...signed].sort();
    if (signed.some((h) => h !== h.toLowerCase()) || signed.join(';') !== sorted.join(';')) {
      return [400, 'AuthorizationHeaderMalformed', 'SignedHeaders must be lower case and sorted'];
    }
    for (const must of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
      if (!signed.includes(must)) return [403, 'AccessDenied', `the ${must} header must be signed`];
    }
    const unsigned = Object.keys(req.headers).filter((h) => h.startsWith('x-amz-') && !signed.includes(h));
    if (unsigned.length) return [403, 'AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.join(', ') }];
    const payloadHash = req.headers['x-amz-content-sha256'];
    if (!payloadHash) return [400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256'];
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    let sig;
    try {
      sig = sigv4({ method: req.method, rawPath, rawQuery, headers, signedHeaders: signed, payloadHash, amzDate, region, secretKey });
    } catch (e) {
      return [400, 'InvalidURI', `could not parse the request target: ${e.message}`];
    }
    if (sig.signature !== auth.signature) {
      entry.canonicalRequest = sig.canonicalRequest;
      return [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        { AWSAccessKeyId: auth.accessKey, StringToSign: sig.stringToSign, CanonicalRequest: sig.canonicalRequest }];
    }
    // payload
    if (payloadHash === 'UNSIGNED-PAYLOAD') { /* fine */ } else if (/^[0-9a-f]{64}$/.test(payloadHash)) {
      const got = bodySha(entry, body).toString('hex');
      if (got !== payloadHash) return [400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: got }];
    } else {
      return [400, 'InvalidRequest', `x-amz-content-sha256 '${payloadHash}': this test front accepts only UNSIGNED-PAYLOAD or the hex sha256 of the body (no aws-chunked streaming)`];
    }
    return null;
  }

  function checkDigests(req, entry, body) {
    if (entry.op === 'CompleteMultipartUpload') return null; // its checksum headers describe the object, not the body
    const md5 = req.headers['content-md5'];
    if (md5 !== undefined) {
      if (!/^[A-Za-z0-9+/]{22}==$/.test(md5)) return [400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.'];
      if (createHash('md5').update(body).digest('base64') !== md5) return [400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.'];
      entry.checked.push('content-md5');
    }
    const cs = req.headers['x-amz-checksum-sha256'];
    if (cs !== undefined) {
      if (bodySha(entry, body).toString('base64') !== cs) return [400, 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.'];
      entry.checked.push('x-amz-checksum-sha256');
    }
    const cc = req.headers['x-amz-checksum-crc32'];
    if (cc !== undefined) {
      if (crc32(body).toString('base64') !== cc) return [400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.'];
      entry.checked.push('x-amz-checksum-crc32');
    }
    return null;
  }

  // ---- emulated multipart bookkeeping
  function emulate(req, res, entry) {
    const id = entry.query.uploadId;
    const u = id !== undefined ? uploads.get(id) : undefined;
    if (entry.op === 'AbortMultipartUpload') {
      if (!u || u.state !== 'active') return fail(res, entry, 404, 'NoSuchUpload', 'The specified upload does not exist.'), true;
      u.state = 'aborted';
      rmSync(path.join(dir, u.bucket, '._S3rver_uploads', id), { recursive: true, force: true });
      send(res, entry, 204, '');
      return true;
    }
    if (entry.op === 'ListParts') {
      if (!u || u.state !== 'active') return fail(res, entry, 404, 'NoSuchUpload', 'The specified upload does not exist.'), true;
      const parts = [...u.parts.entries()].sort((a, b) => a[0] - b[0]).map(([n, p]) =>
        `<Part><PartNumber>${n}</PartNumber><ETag>${xmlEsc(p.etag)}</ETag><Size>${p.size}</Size></Part>`).join('');
      send(res, entry, 200, `<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult><Bucket>${xmlEsc(u.bucket)}</Bucket><Key>${xmlEsc(u.key)}</Key><UploadId>${id}</UploadId><IsTruncated>false</IsTruncated>${parts}</ListPartsResult>`);
      return true;
    }
    if (entry.op === 'ListMultipartUploads') {
      const prefix = entry.query.prefix || '';
      const list = [...uploads.entries()].filter(([, x]) => x.state === 'active' && x.bucket === entry.bucket && x.key.startsWith(prefix))
        .map(([i, x]) => `<Upload><Key>${xmlEsc(x.key)}</Key><UploadId>${i}</UploadId></Upload>`).join('');
      send(res, entry, 200, `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult><Bucket>${xmlEsc(entry.bucket)}</Bucket><IsTruncated>false</IsTruncated>${list}</ListMultipartUploadsResult>`);
      return true;
    }
    if ((entry.op === 'UploadPart' || entry.op === 'CompleteMultipartUpload') && u && u.state !== 'active') {
      fail(res, entry, 404, 'NoSuchUpload', `The specified upload does not exist (it was ${u.state}).`);
      return true;
    }
    return false;
  }

  function track(entry, status, resHeaders, resBody) {
    if (status !== 200) return;
    if (entry.op === 'CreateMultipartUpload') {
      const m = /<UploadId>([^<]+)<\/UploadId>/.exec(resBody.toString());
      if (m) uploads.set(m[1], { bucket: entry.bucket, key: entry.key, state: 'active', parts: new Map() });
    } else if (entry.op === 'UploadPart') {
      const u = uploads.get(entry.query.uploadId);
      if (u) u.parts.set(Number(entry.query.partNumber), { etag: resHeaders.etag, size: entry.bytes });
    } else if (entry.op === 'CompleteMultipartUpload') {
      const u = uploads.get(entry.query.uploadId);
      if (u && !/<Error>/.test(resBody.toString())) u.state = 'completed';
    }
  }

  function forward(req, res, entry, body, rawTarget, fault) {
    const headers = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const n = req.rawHeaders[i].toLowerCase();
      if (['host', 'connection', 'expect', 'transfer-encoding', 'content-length', 'keep-alive'].includes(n)) continue;
      headers[n] = headers[n] !== undefined ? `${headers[n]},${req.rawHeaders[i + 1]}` : req.rawHeaders[i + 1];
    }
    // s3rver knows one account (S3RVER) and checks no V4 signature: name its key instead
    if (headers.authorization) headers.authorization = headers.authorization.replace(/Credential=[^/]+\//, 'Credential=S3RVER/');
    // s3rver reads x-amz-copy-source with decodeURI, which leaves %2B, %3D, %2F... encoded
    // (S3 decodes them all): hand it the key in the form decodeURI gives back exactly
    if (headers['x-amz-copy-source']) {
      const [src, ver] = headers['x-amz-copy-source'].split('?');
      headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(src)) + (ver !== undefined ? `?${ver}` : '');
    }
    headers.host = `127.0.0.1:${upstream.port}`;
    headers['content-length'] = String(body.length);
    const up = http.request({ host: '127.0.0.1', port: upstream.port, method: req.method, path: rawTarget, headers, agent }, (ur) => {
      const stream = req.method === 'GET' && entry.op === 'GetObject' && !fault;
      if (stream) {
        entry.status = ur.statusCode;
        res.writeHead(ur.statusCode, ur.headers);
        ur.on('data', (d) => { entry.bytesOut += d.length; });
        ur.pipe(res);
        return;
      }
      const chunks = [];
      ur.on('data', (d) => chunks.push(d));
      ur.on('end', () => {
        const rb = Buffer.concat(chunks);
        track(entry, ur.statusCode, ur.headers, rb);
        if (fault && fault.mode === 'drop-response') {
          // the operation took effect; the client never learns it
          entry.status = 'dropped-response';
          if (rb.length > 0) {
            res.writeHead(ur.statusCode, ur.headers);
            res.write(rb.subarray(0, Math.max(1, rb.length >> 1)));
            setTimeout(() => res.socket && res.socket.destroy(), 20);
          } else {
            req.socket.destroy();
          }
          return;
        }
        entry.status = ur.statusCode;
        entry.bytesOut = rb.length;
        const h = { ...ur.headers };
        delete h['transfer-encoding'];
        // a HEAD answer keeps the object's Content-Length
        if (req.method !== 'HEAD') h['content-length'] = String(rb.length);
        res.writeHead(ur.statusCode, h);
        res.end(rb);
      });
    });
    up.on('error', (e) => {
      if (!res.headersSent) fail(res, entry, 502, 'InternalError', `the front could not reach s3rver: ${e.message}`);
      else res.destroy();
    });
    up.end(body);
  }

  const server = http.createServer((req, res) => {
    const entry = { seq: ++seq, time: performance.now(), method: req.method, path: '', key: '', bucket: '', query: {}, op: 'Unknown',
      status: null, fault: null, error: null, bytes: 0, bytesOut: 0, checked: [] };
    requests.push(entry);
    res.once('close', () => { entry.ms = performance.now() - entry.time; });
    const rawTarget = req.url;
    const qi = rawTarget.indexOf('?');
    const rawPath = qi < 0 ? rawTarget : rawTarget.slice(0, qi);
    const rawQuery = qi < 0 ? '' : rawTarget.slice(qi + 1);
    try {
      entry.path = decodeURIComponent(rawPath);
      for (const p of rawQuery.split('&').filter(Boolean)) {
        const i = p.indexOf('=');
        entry.query[decodeURIComponent(i < 0 ? p : p.slice(0, i))] = i < 0 ? '' : decodeURIComponent(p.slice(i + 1));
      }
    } catch {
      req.resume();
      return fail(res, entry, 400, 'InvalidURI', 'Could not parse the specified URI.');
    }
    const segs = entry.path.replace(/^\//, '').split('/');
    entry.bucket = segs[0] || '';
    entry.key = segs.slice(1).join('/');
    entry.op = classify(req.method, entry.bucket, entry.key, entry.query, req.headers);
    if (req.headers['x-amz-copy-source']) entry.copySource = req.headers['x-amz-copy-source'];
    const fault = pickFault(rules, entry);
    if (fault) entry.fault = fault.mode;

    if (fault && fault.mode === 'drop-request') {
      // cut the connection while the request body is still coming (or at once without one)
      entry.status = 'dropped-request';
      const len = Number(req.headers['content-length'] || 0);
      if (len === 0) { req.socket.destroy(); return; }
      let got = 0;
      req.on('data', (d) => {
        got += d.length;
        entry.bytes = got;
        if (got >= Math.min(len, 1)) req.socket.destroy();
      });
      return;
    }
    const chunks = [];
    req.on('data', (d) => { chunks.push(d); entry.bytes += d.length; });
    req.on('error', () => { entry.status = entry.status || 'client-error'; });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const bad = checkAuth(req, entry, body, rawPath, rawQuery) || checkDigests(req, entry, body);
      delete entry._sha;
      if (bad) return fail(res, entry, bad[0], bad[1], bad[2], bad[3]);
      if (entry.op === 'DeleteObjects') {
        entry.deleteKeys = [...body.toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unXml(m[1]));
        // S3's own limit (s3rver has none)
        if (entry.deleteKeys.length > 1000) return fail(res, entry, 400, 'MalformedXML', 'DeleteObjects takes at most 1000 keys per request');
      }
      const go = () => {
        if (req.socket.destroyed) { entry.status = entry.status || 'client-gone'; return; }
        if (fault && fault.mode === 'InternalError') return fail(res, entry, 500, 'InternalError', 'We encountered an internal error. Please try again.');
        if (fault && fault.mode === 'SlowDown') return fail(res, entry, 503, 'SlowDown', 'Please reduce your request rate.');
        if (emulate(req, res, entry)) return;
        forward(req, res, entry, body, rawTarget, fault);
      };
      if (fault && fault.mode === 'stall') {
        entry.stalled = fault.stallMs;
        const t = setTimeout(go, fault.stallMs);
        req.socket.once('close', () => clearTimeout(t) || (entry.status = entry.status || 'client-gone'));
      } else go();
    });
  });
  server.keepAliveTimeout = 30000;
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
  const endpoint = `http://127.0.0.1:${port}`;

  const makeClient = (over = {}) => new S3Client({
    endpoint, region, forcePathStyle: true,
    credentials: { accessKeyId: over.accessKey || accessKey, secretAccessKey: over.secretKey || secretKey },
    // plain checksums in headers (no aws-chunked trailers), as the front wants
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: over.maxAttempts || 3,
  });
  const client = makeClient();

  async function list(prefix = '', b = bucket) {
    const out = [];
    let token;
    for (let page = 0; page < 10000; page++) {
      const r = await client.send(new ListObjectsV2Command({ Bucket: b, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents || []) out.push({ key: o.Key, size: Number(o.Size), etag: o.ETag });
      if (!r.IsTruncated) return out;
      token = r.NextContinuationToken;
      if (!token) throw new Error('ListObjectsV2: truncated page without a continuation token');
    }
    throw new Error('ListObjectsV2: more than 10000 pages');
  }
  async function getBytes(key, b = bucket) {
    const r = await client.send(new GetObjectCommand({ Bucket: b, Key: key }));
    return Buffer.from(await r.Body.transformToByteArray());
  }
  async function put(key, body, b = bucket) {
    await client.send(new PutObjectCommand({ Bucket: b, Key: key, Body: typeof body === 'string' ? Buffer.from(body) : body }));
  }

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    client.destroy();
    agent.destroy();
    await new Promise((r) => { server.close(() => r()); for (const s of sockets) s.destroy(); });
    const { child } = upstream;
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
    live.delete(upstream.entry);
  }

  return {
    endpoint, bucket, accessKey, secretKey, region, port, upstreamPort: upstream.port, pid: upstream.child.pid, dir,
    // the environment for the binary: the standard AWS_* names and the seed's Complete Example names
    env: {
      AWS_ACCESS_KEY_ID: accessKey, AWS_SECRET_ACCESS_KEY: secretKey, AWS_REGION: region, AWS_DEFAULT_REGION: region,
      AWS_ENDPOINT_URL: endpoint,
      BRONZE_S3_ENDPOINT: endpoint, BRONZE_S3_ACCESS_KEY: accessKey, BRONZE_S3_SECRET_KEY: secretKey,
    },
    // only the names s3Platform()'s platform.s3_connection points at
    configEnv: { BRONZE_S3_ENDPOINT: endpoint, BRONZE_S3_ACCESS_KEY: accessKey, BRONZE_S3_SECRET_KEY: secretKey },
    // only the standard variables (a config without platform.s3_connection)
    awsEnv: { AWS_ACCESS_KEY_ID: accessKey, AWS_SECRET_ACCESS_KEY: secretKey, AWS_REGION: region, AWS_ENDPOINT_URL: endpoint },
    client, makeClient,
    list, getBytes, put,
    async sha256(key, b = bucket) { return sha256hex(await getBytes(key, b)); },
    requests,
    clearRequests() { requests.length = 0; },
    setFaults(f) { rules = compileFaults(f); },
    /** Every multipart upload seen: [{uploadId, bucket, key, state: active|completed|aborted, parts}] */
    uploads() { return [...uploads.entries()].map(([uploadId, u]) => ({ uploadId, bucket: u.bucket, key: u.key, state: u.state, parts: u.parts.size })); },
    stop,
  };
}

/** Runs fn(s3) with a fresh server and always stops it afterwards. */
export async function withS3(opts, fn) {
  if (typeof opts === 'function') { fn = opts; opts = {}; }
  const s3 = await startS3(opts);
  try {
    return await fn(s3);
  } finally {
    await s3.stop();
  }
}

/** YAML lines for platform.bronze's S3 keys and platform.s3_connection (the seed's env names). */
export function s3Platform({ bucket = 'bronze', prefix = 'bronze', region = 'us-east-1', extra = '' } = {}) {
  return `    s3_bucket: "${bucket}"
    s3_prefix: "${prefix}"
${extra}  s3_connection:
    endpoint_url_env: "BRONZE_S3_ENDPOINT"
    access_key_env: "BRONZE_S3_ACCESS_KEY"
    secret_key_env: "BRONZE_S3_SECRET_KEY"
    region: "${region}"`;
}
