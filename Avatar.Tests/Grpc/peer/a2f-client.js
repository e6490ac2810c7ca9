// An Audio2Face-3D client written the way NVIDIA's samples are: grpc-js with the A2F protos, nothing of ours.
// node a2f-client.js PORT PCM_FILE SAMPLE_RATE [CHUNK_MS]: streams 16-bit mono PCM in chunks paced at real time through
// ProcessAudioStream and prints one JSON line with what came back.
const path = require('path');
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const protos = path.join(__dirname, '..', '..', '..', 'lib', 'Avatar.A2F.Contracts', 'Protos');
const definition = loader.loadSync('nvidia_ace.services.a2f_controller.v1.proto', { includeDirs: [protos], keepCase: true, longs: Number, defaults: true });
const services = grpc.loadPackageDefinition(definition).nvidia_ace.services.a2f_controller.v1;

const [port, file, rate, chunkMs = '35'] = process.argv.slice(2);
const pcm = fs.readFileSync(file);
const chunkBytes = Math.round(Number(rate) * Number(chunkMs) / 1000) * 2;
const client = new services.A2FControllerService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const call = client.ProcessAudioStream();
const result = { names: 0, frames: 0, increasing: true, audioBytes: 0, event: null, status: null, firstFrameMs: null, jawOpenMax: 0 };
let last = -1;
const started = Date.now();
call.on('data', (m) => {
  if (m.animation_data_stream_header) result.names = m.animation_data_stream_header.skel_animation_header.blend_shapes.length;
  if (m.animation_data) {
    const weights = m.animation_data.skel_animation?.blend_shape_weights ?? [];
    for (const w of weights) {
      if (result.firstFrameMs === null) result.firstFrameMs = Date.now() - started;
      result.frames++;
      if (w.time_code <= last) result.increasing = false;
      last = w.time_code;
      result.jawOpenMax = Math.max(result.jawOpenMax, w.values[17]);
    }
    if (m.animation_data.audio) result.audioBytes += m.animation_data.audio.audio_buffer.length;
  }
  if (m.event) result.event = m.event.event_type;
  if (m.status) result.status = { code: m.status.code, message: m.status.message };
});
call.on('error', (e) => { console.log(JSON.stringify({ ...result, error: { code: e.code, details: e.details } })); process.exit(0); });
call.on('end', () => { console.log(JSON.stringify({ ...result, lastTimeCode: last })); process.exit(0); });

call.write({ audio_stream_header: { audio_header: { audio_format: 'AUDIO_FORMAT_PCM', channel_count: 1, samples_per_second: Number(rate), bits_per_sample: 16 },
  blendshape_params: { bs_weight_multipliers: { JawOpen: 1.0 } }, emotion_params: { beginning_emotion: { joy: 0.5 } } } });
let offset = 0;
const send = () => {
  if (offset >= pcm.length) { call.write({ end_of_audio: {} }); call.end(); return; }
  call.write({ audio_with_emotion: { audio_buffer: pcm.subarray(offset, offset + chunkBytes) } });
  offset += chunkBytes;
  setTimeout(send, Number(chunkMs));
};
send();
