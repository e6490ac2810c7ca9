// grpc-js Echo server: node server.js PORT. Prints "listening PORT" when ready.
const { grpc, proto } = require('./common');

const fail = (request) => request.failCode ? { code: request.failCode, details: `failed: ${request.text} é` } : null;
const wait = (ms, call) => new Promise((resolve, reject) => {
  if (!ms) return resolve();
  const timer = setTimeout(resolve, ms);
  call.on('cancelled', () => { clearTimeout(timer); reject(new Error('cancelled')); });
});

const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
server.addService(proto.Echo.service, {
  unary: async (call, callback) => {
    try { await wait(call.request.delayMs, call); } catch { return; }
    const error = fail(call.request);
    if (error) return callback(error);
    const trailer = new grpc.Metadata();
    const echo = call.metadata.get('x-echo');
    if (echo.length) trailer.set('x-echo', echo[0]);
    callback(null, { text: call.request.text, payload: call.request.payload }, trailer);
  },
  clientStream: (call, callback) => {
    const texts = [];
    call.on('data', (r) => texts.push(r.text));
    call.on('end', () => callback(null, { text: texts.join(','), index: texts.length }));
  },
  serverStream: async (call) => {
    for (let i = 0; i < call.request.repeat; i++) {
      try { await wait(call.request.delayMs, call); } catch { return; }
      call.write({ text: call.request.text, index: i });
    }
    const error = fail(call.request);
    if (error) return call.emit('error', error);
    call.end();
  },
  duplex: (call) => {
    let i = 0;
    call.on('data', (r) => call.write({ text: r.text.toUpperCase(), index: i++ }));
    call.on('end', () => call.end());
  },
});
server.bindAsync(`127.0.0.1:${process.argv[2]}`, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) { console.error(error); process.exit(1); }
  console.log(`listening ${port}`);
});
process.on('SIGTERM', () => server.forceShutdown());
