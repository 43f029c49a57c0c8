// Self-tests of lib/s3.mjs (the S3 test server): s3rver behind our front,
// driven by an independent client (@aws-sdk/client-s3). If these fail, the
// S3 tests of the binary prove nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  PutObjectCommand, GetObjectCommand, CopyObjectCommand, DeleteObjectsCommand,
  CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand,
  S3Client, AbortMultipartUploadCommand, ListPartsCommand, ListMultipartUploadsCommand, HeadObjectCommand,
} from '@aws-sdk/client-s3';
import { startS3, withS3, sigv4, canonicalQuery, canonicalUri } from './lib/s3.mjs';

const sha = (b) => createHash('sha256').update(b).digest('hex');
const EMPTY = sha('');

// --- the verifier itself, on AWS's published examples (S3 docs, "Signature
// Calculations for the Authorization Header", example requests), so the
// front's 403s mean something.
const AK_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const vectors = [
  {
    name: 'GET object with Range',
    method: 'GET', rawPath: '/test.txt', rawQuery: '',
    headers: [['Host', 'examplebucket.s3.amazonaws.com'], ['Range', 'bytes=0-9'], ['x-amz-content-sha256', EMPTY], ['x-amz-date', '20130524T000000Z']],
    signedHeaders: ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'], payloadHash: EMPTY,
    signature: 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  },
  {
    name: 'PUT object with an encoded $ in the key',
    method: 'PUT', rawPath: '/test%24file.text', rawQuery: '',
    headers: [['Host', 'examplebucket.s3.amazonaws.com'], ['Date', 'Fri, 24 May 2013 00:00:00 GMT'],
      ['x-amz-date', '20130524T000000Z'], ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
      ['x-amz-content-sha256', sha('Welcome to Amazon S3.')]],
    signedHeaders: ['date', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-storage-class'],
    payloadHash: sha('Welcome to Amazon S3.'),
    signature: '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
  },
  {
    name: 'GET bucket lifecycle (a query name without value)',
    method: 'GET', rawPath: '/', rawQuery: 'lifecycle',
    headers: [['Host', 'examplebucket.s3.amazonaws.com'], ['x-amz-date', '20130524T000000Z'], ['x-amz-content-sha256', EMPTY]],
    signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date'], payloadHash: EMPTY,
    signature: 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
  },
  {
    name: 'GET bucket listing (query sorted)',
    method: 'GET', rawPath: '/', rawQuery: 'prefix=J&max-keys=2',
    headers: [['Host', 'examplebucket.s3.amazonaws.com'], ['x-amz-date', '20130524T000000Z'], ['x-amz-content-sha256', EMPTY]],
    signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date'], payloadHash: EMPTY,
    signature: '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
  },
];
for (const v of vectors) {
  test(`SigV4 verifier reproduces AWS's example: ${v.name}`, () => {
    const r = sigv4({ ...v, amzDate: '20130524T000000Z', region: 'us-east-1', secretKey: AK_SECRET });
    assert.equal(r.signature, v.signature, r.canonicalRequest);
  });
}

test('canonical query and URI: RFC 3986 encoding, sorted, empty values get =', () => {
  assert.equal(canonicalQuery('uploads'), 'uploads=');
  assert.equal(canonicalQuery('partNumber=2&uploadId=a%2Fb%2Bc'), 'partNumber=2&uploadId=a%2Fb%2Bc');
  assert.equal(canonicalQuery('prefix=a/b c&list-type=2&continuation-token=x%3D%3D'),
    'continuation-token=x%3D%3D&list-type=2&prefix=a%2Fb%20c');
  assert.equal(canonicalQuery('b=2&a=1&a=0'), 'a=0&a=1&b=2');
  assert.equal(canonicalUri('/bucket/dt%3D2025-01-12/part-0001.parquet'), '/bucket/dt%3D2025-01-12/part-0001.parquet');
  assert.equal(canonicalUri('/bucket/dt=2025-01-12/a b'), '/bucket/dt%3D2025-01-12/a%20b');
});

/** A raw request signed with the given keys (our signer), for what the SDK will not send. */
function rawRequest(s3, { method = 'PUT', key, query = '', body = Buffer.alloc(0), headers = {}, payloadHash, secretKey = s3.secretKey, sign = null }) {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const rawPath = `/${s3.bucket}/${key}`;
  const host = `127.0.0.1:${s3.port}`;
  const h = { host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash ?? sha(body), ...headers };
  const signed = (sign || Object.keys(h)).map((x) => x.toLowerCase()).sort();
  const r = sigv4({ method, rawPath, rawQuery: query, headers: Object.entries(h), signedHeaders: signed,
    payloadHash: h['x-amz-content-sha256'], amzDate, region: s3.region, secretKey });
  h.authorization = `AWS4-HMAC-SHA256 Credential=${s3.accessKey}/${r.scope}, SignedHeaders=${signed.join(';')}, Signature=${r.signature}`;
  h['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: s3.port, method, path: rawPath + (query ? `?${query}` : ''), headers: h }, (res) => {
      let t = '';
      res.on('data', (d) => { t += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: t }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function expectS3Error(p, status, code) {
  try {
    await p;
  } catch (e) {
    assert.equal(e.$metadata?.httpStatusCode, status, `${e.name}: ${e.message}`);
    if (code) assert.equal(e.name, code);
    return e;
  }
  assert.fail(`expected ${status} ${code || ''}, the request succeeded`);
}

async function expectNetworkError(p) {
  try {
    await p;
  } catch (e) {
    assert.equal(e.$metadata?.httpStatusCode, undefined, `expected a network error, got HTTP ${e.$metadata?.httpStatusCode} ${e.name}`);
    return e;
  }
  assert.fail('expected a network error, the request succeeded');
}

async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) { const k = i++; await fn(items[k], k); }
  }));
}

test('put, get and a listing of 1,100 keys through truncated ListObjectsV2 pages', { timeout: 120000 }, async () => {
  await withS3(async (s3) => {
    const keys = Array.from({ length: 1100 }, (_, i) => `many/dt=2025-01-12/part-${String(9000 + i).padStart(4, '0')}.parquet`);
    const body = (k) => Buffer.from(`${k}:${sha(k)}`);
    await pool(keys, 16, (k) => s3.put(k, body(k)));
    s3.clearRequests();
    const got = await s3.list('many/');
    assert.equal(got.length, 1100);
    assert.deepEqual(got.map((o) => o.key), [...keys].sort());
    for (const o of got) assert.equal(o.size, body(o.key).length);
    const pages = s3.requests.filter((r) => r.op === 'ListObjectsV2');
    assert.equal(pages.length, 2, 'two pages of at most 1000');
    assert.ok(pages.every((r) => r.status === 200));
    assert.ok(!('continuation-token' in pages[0].query));
    assert.ok(pages[1].query['continuation-token'], 'second page asked with the continuation token');
    for (const k of [keys[0], keys[777], keys[1099]]) assert.deepEqual(await s3.getBytes(k), body(k));
    assert.equal(await s3.sha256(keys[5]), sha(body(keys[5])));
  });
});

test('multipart upload, ListParts, complete; abort is emulated and recorded; copy; DeleteObjects', { timeout: 120000 }, async () => {
  await withS3(async (s3) => {
    const c = s3.client, Bucket = s3.bucket;
    const p1 = randomBytes(5 * 1024 * 1024), p2 = randomBytes(1024 * 1024 + 17);
    const key = 'mp/dt=2025-01-12/part-0001.parquet';
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket, Key: key }));
    const e1 = await c.send(new UploadPartCommand({ Bucket, Key: key, UploadId, PartNumber: 1, Body: p1 }));
    const e2 = await c.send(new UploadPartCommand({ Bucket, Key: key, UploadId, PartNumber: 2, Body: p2 }));
    const lp = await c.send(new ListPartsCommand({ Bucket, Key: key, UploadId }));
    assert.deepEqual(lp.Parts.map((p) => [p.PartNumber, Number(p.Size)]), [[1, p1.length], [2, p2.length]]);
    const lu = await c.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'mp/' }));
    assert.deepEqual(lu.Uploads.map((u) => u.UploadId), [UploadId]);
    await c.send(new CompleteMultipartUploadCommand({ Bucket, Key: key, UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1.ETag }, { PartNumber: 2, ETag: e2.ETag }] } }));
    const whole = Buffer.concat([p1, p2]);
    assert.equal(await s3.sha256(key), sha(whole));
    assert.deepEqual(await s3.getBytes(key), whole);
    const head = await c.send(new HeadObjectCommand({ Bucket, Key: key }));
    assert.equal(Number(head.ContentLength), whole.length, 'HEAD gives the object\'s length');

    // abort: s3rver 405s it; the front does it and remembers
    const k2 = 'mp/dt=2025-01-12/part-0002.parquet';
    const u2 = (await c.send(new CreateMultipartUploadCommand({ Bucket, Key: k2 }))).UploadId;
    await c.send(new UploadPartCommand({ Bucket, Key: k2, UploadId: u2, PartNumber: 1, Body: p1 }));
    await c.send(new AbortMultipartUploadCommand({ Bucket, Key: k2, UploadId: u2 }));
    const ab = s3.requests.filter((r) => r.op === 'AbortMultipartUpload');
    assert.equal(ab.length, 1);
    assert.equal(ab[0].status, 204);
    assert.equal(ab[0].query.uploadId, u2);
    assert.deepEqual(s3.uploads().map((u) => [u.key, u.state]), [[key, 'completed'], [k2, 'aborted']]);
    assert.equal(existsSync(`${s3.dir}/${Bucket}/._S3rver_uploads/${u2}`), false, 'aborted parts removed from s3rver');
    await expectS3Error(c.send(new UploadPartCommand({ Bucket, Key: k2, UploadId: u2, PartNumber: 2, Body: p2 })), 404, 'NoSuchUpload');
    assert.equal((await c.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'mp/' }))).Uploads, undefined);
    assert.deepEqual((await s3.list('mp/')).map((o) => o.key), [key]);

    // server-side copy, then DeleteObjects
    const k3 = 'mp/dt=2025-01-12/copy.parquet';
    await c.send(new CopyObjectCommand({ Bucket, Key: k3, CopySource: `${Bucket}/${key}` }));
    assert.equal(await s3.sha256(k3), sha(whole));
    // a source key with + and = (URL-encoded in x-amz-copy-source, as S3 wants; s3rver alone would 404 it)
    const k4 = 'mp/.tmp/system=a+b=c/part-0001.parquet';
    await s3.put(k4, 'plus and equals');
    await c.send(new CopyObjectCommand({ Bucket, Key: 'mp/x3', CopySource: `${Bucket}/${k4.split('/').map(encodeURIComponent).join('/')}` }));
    assert.equal((await s3.getBytes('mp/x3')).toString(), 'plus and equals');
    assert.equal(s3.requests.at(-2).copySource, '/bronze/mp/.tmp/system%3Da%2Bb%3Dc/part-0001.parquet'.slice(1));
    await c.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'mp/x3' }, { Key: k4 }] } }));
    await s3.put('mp/x1', 'one');
    await s3.put('mp/x2', 'two');
    const d = await c.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'mp/x1' }, { Key: 'mp/x2' }, { Key: k3 }] } }));
    assert.equal(d.Deleted.length, 3);
    assert.deepEqual((await s3.list('mp/')).map((o) => o.key), [key]);
    const del = s3.requests.filter((r) => r.op === 'DeleteObjects').at(-1);
    assert.deepEqual(del.checked, ['x-amz-checksum-crc32'], 'the SDK\'s DeleteObjects checksum was verified');
    assert.deepEqual(del.deleteKeys, ['mp/x1', 'mp/x2', k3]);
    // more than S3's 1000 keys in one DeleteObjects: refused as S3 does
    const many = Array.from({ length: 1001 }, (_, i) => ({ Key: `mp/none-${i}` }));
    await expectS3Error(c.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: many } })), 400, 'MalformedXML');
  });
});

test('a wrong secret or access key gets 403 and stores nothing; the right one works', async () => {
  await withS3(async (s3) => {
    const bad = s3.makeClient({ secretKey: s3.secretKey.slice(0, -2) + 'xx', maxAttempts: 1 });
    const e = await expectS3Error(bad.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'w/a', Body: 'x' })), 403, 'SignatureDoesNotMatch');
    assert.match(e.message, /signature/i);
    await expectS3Error(bad.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'w/a' })), 403, 'SignatureDoesNotMatch');
    const badKey = s3.makeClient({ accessKey: 'AKIANOTTHEKEY', maxAttempts: 1 });
    await expectS3Error(badKey.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'w/b', Body: 'x' })), 403, 'InvalidAccessKeyId');
    const wrongRegion = new S3Client({ region: 'eu-west-1', endpoint: s3.endpoint, forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey }, maxAttempts: 1 });
    await expectS3Error(wrongRegion.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'w/c', Body: 'x' })), 400);
    assert.deepEqual(await s3.list('w/'), []);
    const denied = s3.requests.filter((r) => r.status === 403);
    assert.equal(denied.length, 3);
    assert.ok(denied[0].canonicalRequest.startsWith('PUT\n/bronze/w/a\n'));
    bad.destroy(); badKey.destroy(); wrongRegion.destroy();
    // raw requests: an unsigned x-amz-* header is refused, a correct raw one accepted
    const r1 = await rawRequest(s3, { key: 'w/raw', body: Buffer.from('raw'), headers: { 'x-amz-meta-a': '1' }, sign: ['host', 'x-amz-date', 'x-amz-content-sha256'] });
    assert.equal(r1.status, 403);
    assert.match(r1.body, /HeadersNotSigned/);
    const r2 = await rawRequest(s3, { key: 'w/raw', body: Buffer.from('raw'), headers: { 'x-amz-meta-a': '1' } });
    assert.equal(r2.status, 200, r2.body);
    const r3 = await rawRequest(s3, { key: 'w/raw2', body: Buffer.from('raw'), secretKey: 'nope' });
    assert.equal(r3.status, 403);
    assert.match(r3.body, /<Code>SignatureDoesNotMatch<\/Code>/);
    assert.deepEqual((await s3.list('w/')).map((o) => o.key), ['w/raw']);
  });
});

test('a tampered checksum or payload hash gets 400 and stores nothing', async () => {
  await withS3(async (s3) => {
    const c = s3.makeClient({ maxAttempts: 1 });
    const body = Buffer.from('the real body');
    const other = createHash('sha256').update('another body').digest('base64');
    await expectS3Error(c.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 't/a', Body: body, ChecksumSHA256: other })), 400, 'BadDigest');
    const md5 = createHash('md5').update('another body').digest('base64');
    await expectS3Error(c.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 't/b', Body: body, ContentMD5: md5 })), 400, 'BadDigest');
    // right digests pass and are recorded as checked
    await c.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 't/ok', Body: body,
      ChecksumSHA256: createHash('sha256').update(body).digest('base64'), ContentMD5: createHash('md5').update(body).digest('base64') }));
    assert.deepEqual(s3.requests.at(-1).checked, ['content-md5', 'x-amz-checksum-sha256']);
    // x-amz-content-sha256 that is not the body's hash, and aws-chunked streaming
    const r1 = await rawRequest(s3, { key: 't/c', body, payloadHash: sha('something else') });
    assert.equal(r1.status, 400);
    assert.match(r1.body, /XAmzContentSHA256Mismatch/);
    const r2 = await rawRequest(s3, { key: 't/d', body, payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' });
    assert.equal(r2.status, 400);
    assert.match(r2.body, /UNSIGNED-PAYLOAD/);
    const r3 = await rawRequest(s3, { key: 't/e', body, payloadHash: 'UNSIGNED-PAYLOAD' });
    assert.equal(r3.status, 200, r3.body);
    assert.deepEqual((await s3.list('t/')).map((o) => o.key), ['t/e', 't/ok']);
    assert.deepEqual(await s3.getBytes('t/e'), body);
    c.destroy();
  });
});

test('fault modes: 500, 503 SlowDown, dropped request, dropped response, stall; logged', { timeout: 60000 }, async () => {
  await withS3(async (s3) => {
    const c = s3.makeClient({ maxAttempts: 1 });
    const put = (k, b = 'v') => c.send(new PutObjectCommand({ Bucket: s3.bucket, Key: k, Body: Buffer.from(b) }));
    const last = () => s3.requests.at(-1);

    s3.setFaults({ modes: [500], ops: ['PutObject'], limit: 1 });
    await expectS3Error(put('f/500'), 500, 'InternalError');
    assert.deepEqual([last().fault, last().status], ['InternalError', 500]);
    await put('f/500'); // limit reached: passes

    s3.setFaults({ modes: ['SlowDown'], ops: ['PutObject'], limit: 1 });
    await expectS3Error(put('f/503'), 503, 'SlowDown');
    assert.deepEqual([last().fault, last().status], ['SlowDown', 503]);

    s3.setFaults({ modes: ['drop-request'], ops: ['PutObject'], limit: 1 });
    await expectNetworkError(put('f/dropreq', 'x'.repeat(200000)));
    assert.deepEqual([last().fault, last().status], ['drop-request', 'dropped-request']);

    s3.setFaults({ modes: ['drop-response'], ops: ['PutObject', 'GetObject'], limit: 2 });
    await expectNetworkError(put('f/dropres', 'stored anyway'));
    assert.deepEqual([last().fault, last().status], ['drop-response', 'dropped-response']);
    await expectNetworkError(c.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'f/dropres' })).then((r) => r.Body.transformToString()));
    assert.equal(last().op, 'GetObject');
    assert.equal(last().fault, 'drop-response');

    s3.setFaults(null);
    // dropped request: never stored; dropped response: stored, the client just did not hear
    assert.deepEqual((await s3.list('f/')).map((o) => o.key), ['f/500', 'f/dropres']);
    assert.equal((await s3.getBytes('f/dropres')).toString(), 'stored anyway');

    s3.setFaults({ modes: ['stall'], ops: ['HeadObject'], stallMs: 1200, limit: 1 });
    const t0 = performance.now();
    await c.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'f/500' }));
    assert.ok(performance.now() - t0 >= 1100, `stalled ${performance.now() - t0} ms`);
    assert.deepEqual([last().fault, last().stalled, last().status], ['stall', 1200, 200]);

    // a stall longer than the client's patience: the client gives up, the log says so
    s3.setFaults({ modes: ['stall'], ops: ['HeadObject'], stallMs: 3000, limit: 1 });
    const impatient = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, maxAttempts: 1,
      credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
      requestHandler: { requestTimeout: 300, connectionTimeout: 300, throwOnRequestTimeout: true } });
    await expectNetworkError(impatient.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'f/500' })));
    impatient.destroy();
    s3.setFaults(null);
    c.destroy();
  });
});

test('faults every Nth request, only for chosen operations, and a seeded share that a retrying client rides out', { timeout: 60000 }, async () => {
  await withS3({ faults: { modes: [500, 503], ops: ['UploadPart'], every: 2 } }, async (s3) => {
    const c = s3.makeClient({ maxAttempts: 1 });
    // PutObject is not an UploadPart: untouched
    for (let i = 0; i < 4; i++) await c.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `n/p${i}`, Body: 'x' }));
    const Key = 'n/mp';
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key }));
    const outcomes = [];
    for (let n = 1; n <= 6; n++) {
      try {
        await c.send(new UploadPartCommand({ Bucket: s3.bucket, Key, UploadId, PartNumber: n, Body: Buffer.alloc(10, n) }));
        outcomes.push('ok');
      } catch (e) {
        outcomes.push(e.$metadata.httpStatusCode);
      }
    }
    assert.deepEqual(outcomes, ['ok', 500, 'ok', 503, 'ok', 500]);
    assert.deepEqual(s3.requests.filter((r) => r.fault).map((r) => [r.op, r.fault]),
      [['UploadPart', 'InternalError'], ['UploadPart', 'SlowDown'], ['UploadPart', 'InternalError']]);
    await c.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key, UploadId }));
    c.destroy();

    // 30% of everything fails in every way; a client with retries still lands it all, byte for byte
    s3.setFaults({ modes: [500, 503, 'drop-request', 'drop-response'], rate: 0.3, seed: 7 });
    const r = s3.makeClient({ maxAttempts: 10 });
    const bodies = Array.from({ length: 20 }, (_, i) => randomBytes(1000 + i));
    for (let i = 0; i < 20; i++) await r.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `n/r${i}`, Body: bodies[i] }));
    const faulted = s3.requests.filter((x) => x.fault && x.op === 'PutObject' && x.key.startsWith('n/r'));
    assert.ok(faulted.length >= 3, `faults injected: ${faulted.length}`);
    assert.ok(new Set(faulted.map((x) => x.fault)).size >= 3, 'several fault kinds');
    s3.setFaults(null);
    for (let i = 0; i < 20; i++) assert.equal(await s3.sha256(`n/r${i}`), sha(bodies[i]));
    r.destroy();
  });
});

function refused(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
  });
}

test('stop() ends s3rver, closes both ports and removes the data folder', async () => {
  const s3 = await startS3();
  await s3.put('x', 'y');
  const { pid, port, upstreamPort, dir } = s3;
  process.kill(pid, 0); // alive
  await s3.stop();
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
  assert.ok(await refused(port), 'front port closed');
  assert.ok(await refused(upstreamPort), 's3rver port closed');
  assert.equal(existsSync(dir), false);
  await s3.stop(); // twice is fine
});
