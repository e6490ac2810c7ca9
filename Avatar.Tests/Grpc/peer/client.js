// grpc-js Echo client: node client.js PORT. Runs every scenario against the server and prints one JSON line each:
// {"scenario": ..., "ok": true|false, ...what it saw}.
const { grpc, proto } = require('./common');
const port = process.argv[2];
const client = new proto.Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
const gzip = new proto.Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2, 'grpc.default_compression_level': 2 });
const report = (scenario, fields) => console.log(JSON.stringify({ scenario, ...fields }));
const status = (e) => ({ code: e.code, details: e.details });
const unary = (c, request, options = {}, metadata = new grpc.Metadata()) => new Promise((resolve) => {
  const call = c.unary(request, metadata, options, (error, reply) => resolve(error ? { error: status(error) } : { reply }));
  call.on('status', (s) => { if (s.metadata.get('x-echo').length) resolve.trailer = s.metadata.get('x-echo')[0]; });
});

async function main() {
  let r = await unary(client, { text: 'hello' });
  report('unary', { text: r.reply?.text });

  r = await unary(client, { text: 'boom', failCode: 5 });
  report('unary-error', r.error);

  r = await unary(client, { text: 'slow', delayMs: 2000 }, { deadline: Date.now() + 200 });
  report('deadline', r.error);

  r = await unary(client, { text: 'big', payload: Buffer.alloc(3 * 1024 * 1024, 7) });
  report('large', { length: r.reply?.payload?.length, error: r.error });

  r = await unary(client, { text: 'huge', payload: Buffer.alloc(6 * 1024 * 1024, 7) });
  report('too-large', r.error);

  r = await unary(gzip, { text: 'zipped', payload: Buffer.alloc(100000, 1) });
  report('gzip', { text: r.reply?.text, length: r.reply?.payload?.length, error: r.error });

  const metadata = new grpc.Metadata();
  metadata.set('x-echo', 'echoed value');
  const trailer = await new Promise((resolve) => {
    const call = client.unary({ text: 'meta' }, metadata, () => {});
    call.on('status', (s) => resolve(s.metadata.get('x-echo')[0]));
  });
  report('metadata', { trailer });

  const stream = await new Promise((resolve) => {
    const call = client.clientStream((error, reply) => resolve(error ? status(error) : reply));
    for (const text of ['a', 'b', 'c']) call.write({ text });
    call.end();
  });
  report('client-stream', { text: stream.text, index: stream.index });

  const replies = await new Promise((resolve) => {
    const got = [];
    const call = client.serverStream({ text: 'x', repeat: 5 });
    call.on('data', (d) => got.push(d.index));
    call.on('end', () => resolve(got));
    call.on('error', (e) => resolve(status(e)));
  });
  report('server-stream', { indexes: replies });

  const failed = await new Promise((resolve) => {
    const got = [];
    const call = client.serverStream({ text: 'x', repeat: 2, failCode: 9 });
    call.on('data', (d) => got.push(d.index));
    call.on('error', (e) => resolve({ got, ...status(e) }));
    call.on('end', () => resolve({ got }));
  });
  report('server-stream-error', failed);

  const duplex = await new Promise((resolve) => {
    const got = [];
    const call = client.duplex();
    call.on('data', (d) => got.push(d.text));
    call.on('end', () => resolve(got));
    for (const text of ['one', 'two', 'three']) call.write({ text });
    call.end();
  });
  report('duplex', { texts: duplex });

  const cancelled = await new Promise((resolve) => {
    const call = client.serverStream({ text: 'x', repeat: 100, delayMs: 50 });
    let got = 0;
    call.on('data', () => { if (++got === 2) call.cancel(); });
    call.on('error', (e) => resolve({ got, ...status(e) }));
  });
  report('cancel', cancelled);

  const counts = await Promise.all(Array.from({ length: 300 }, (_, n) => new Promise((resolve) => {
    let got = 0;
    const call = client.serverStream({ text: `s${n}`, repeat: 3 });
    call.on('data', () => got++);
    call.on('end', () => resolve(got));
    call.on('error', () => resolve(-1));
  })));
  report('concurrent', { streams: counts.length, complete: counts.filter((c) => c === 3).length });

  const missing = await new Promise((resolve) => {
    const service = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    service.makeUnaryRequest('/avatar.test.v1.Echo/Nope', (x) => x, (x) => x, Buffer.alloc(0), (e) => resolve(status(e)));
  });
  report('unimplemented', missing);

  const health = await new Promise((resolve) => {
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    // HealthCheckRequest{service=""} is the empty message; the response is field 1 = SERVING (1): bytes 08 01.
    c.makeUnaryRequest('/grpc.health.v1.Health/Check', (x) => x, (x) => x, Buffer.alloc(0), (e, reply) => resolve(e ? status(e) : { bytes: [...reply] }));
  });
  report('health', health);
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
