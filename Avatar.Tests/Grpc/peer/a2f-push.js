// grpc-js in the A2F controller's place, with NVIDIA's protos and nothing of ours: node a2f-push.js INFERENCE_PORT PCM_FILE SAMPLE_RATE.
// Serves AnimationDataService on a free port, pushes 16-bit mono PCM to inference's A2FService/PushAudioStream naming
// that port as the stream's animation address, pushes a stereo header too, and prints one JSON line with what came
// back on each side.
const path = require('path');
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const protos = path.join(__dirname, '..', '..', '..', 'lib', 'Avatar.A2F.Contracts', 'Protos');
const load = (file) => grpc.loadPackageDefinition(loader.loadSync(file, { includeDirs: [protos], keepCase: true, longs: Number, defaults: true, oneofs: true }));
const { A2FService } = load('nvidia_ace.services.a2f.v1.proto').nvidia_ace.services.a2f.v1;
const { AnimationDataService } = load('nvidia_ace.services.animation_data.v1.proto').nvidia_ace.services.animation_data.v1;

const [port, file, rate] = process.argv.slice(2);
const pcm = fs.readFileSync(file);
const animation = { streams: 0, streamId: null, names: 0, frames: 0, increasing: true, audioBytes: 0, first: null, last: null, status: null };
let animationEnded;
const ended = new Promise((resolve) => { animationEnded = resolve; });

const server = new grpc.Server();
server.addService(AnimationDataService.service, {
  PushAnimationDataStream: (call, callback) => {
    animation.streams++;
    let lastTime = -1;
    call.on('data', (m) => {
      animation.first ??= m.stream_part;
      animation.last = m.stream_part;
      if (m.animation_data_stream_header) {
        animation.streamId = m.animation_data_stream_header.animation_ids.stream_id;
        animation.names = m.animation_data_stream_header.skel_animation_header.blend_shapes.length;
      }
      if (m.animation_data?.audio) animation.audioBytes += m.animation_data.audio.audio_buffer.length;
      for (const w of m.animation_data?.skel_animation?.blend_shape_weights ?? []) {
        animation.frames++;
        if (w.time_code <= lastTime) animation.increasing = false;
        lastTime = w.time_code;
      }
      if (m.status) animation.status = { code: m.status.code, message: m.status.message };
    });
    call.on('end', () => { callback(null, { code: 0, message: 'received' }); animationEnded(); });
  },
  PullAnimationDataStream: (call) => call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not served here' }),
});

const header = (channels) => ({
  animation_ids: { request_id: 'grpc-js-request', stream_id: 'grpc-js-stream', target_object_id: 'face' },
  audio_header: { audio_format: 'AUDIO_FORMAT_PCM', channel_count: channels, samples_per_second: Number(rate), bits_per_sample: 16 },
  blendshape_params: { bs_weight_multipliers: { JawOpen: 1.0 } },
});

const push = (client, metadata, channels, audio) => new Promise((resolve) => {
  const call = client.PushAudioStream(metadata, (e, status) => resolve(e ? { error: { code: e.code, details: e.details } } : { status: { code: status.code, message: status.message } }));
  call.write({ audio_stream_header: header(channels) });
  const chunk = Math.round(Number(rate) * 0.1) * 2;
  for (let offset = 0; offset < audio.length; offset += chunk) call.write({ audio_with_emotion: { audio_buffer: audio.subarray(offset, offset + chunk) } });
  call.end();
});

setTimeout(() => { console.log(JSON.stringify({ error: 'timed out', animation })); process.exit(0); }, 30000).unref();
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), async (error, animationPort) => {
  if (error) { console.error(error); process.exit(1); }
  const client = new A2FService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('avatar-animation-address', `http://127.0.0.1:${animationPort}`);
  const [pushed, stereo] = await Promise.all([push(client, metadata, 1, pcm), push(client, metadata, 2, pcm.subarray(0, 3200))]);
  await ended;
  console.log(JSON.stringify({ pushed, stereo, animation }));
  process.exit(0);
});
