// The browser client: an account and characters at the Api, a conversation over Chat's WebSocket. Audio chunks and
// face frames carry times on one clock (seconds from the turn's first sample): audio is scheduled on the AudioContext
// at turnStart + t, and each animation frame shows the face frame whose t the playing audio has reached.
'use strict';
const $ = id => document.getElementById(id);
const state = {
  key: localStorage.getItem('avatar.key'), socket: null, audio: null,
  rate: 16000, turnStart: null, frames: [], nextFrame: 0, sources: [],
  // Read by the browser test: what played and how far the mouth opened.
  stats: { turns: 0, audioChunks: 0, framesShown: 0, maxMouthOpen: 0, errors: [] },
};
window.avatar = state;
// Forms can be submitted before the config arrives (a fast user, a browser test): every call waits for it.
const config = fetch('/config.json').then(response => response.json());

async function api(method, path, body) {
  const { apiUrl } = await config;
  const response = await fetch(apiUrl + path, {
    method, headers: { 'Content-Type': 'application/json', ...(state.key ? { 'X-Api-Key': state.key } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(json?.detail || json?.title || response.statusText);
  return json;
}

function say(role, text) {
  const p = document.createElement('p');
  p.className = role;
  p.textContent = text;
  $('transcript').append(p);
  $('transcript').scrollTop = $('transcript').scrollHeight;
  return p;
}

function status(text) { $('status').textContent = text; }

async function signedIn() {
  localStorage.setItem('avatar.key', state.key);
  $('characters').hidden = false;
  const characters = (await api('GET', '/v1/characters?limit=100')).items;
  $('character').replaceChildren(...characters.map(c => new Option(`${c.name} (${c.kind})`, c.id)));
  status(characters.length ? 'pick a character' : 'create a character');
}

$('signup').addEventListener('submit', async event => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const user = await api('POST', '/v1/users', { name: form.get('name'), email: form.get('email') });
    state.key = user.apiKey;
    $('key').textContent = user.apiKey;
    $('keynote').hidden = false;
    await signedIn();
  } catch (e) { status(e.message); }
});

$('usekey').addEventListener('submit', async event => {
  event.preventDefault();
  state.key = new FormData(event.target).get('key').trim();
  try { await signedIn(); } catch (e) { status(e.message); }
});

$('newcharacter').addEventListener('submit', async event => {
  event.preventDefault();
  const form = Object.fromEntries(new FormData(event.target));
  try {
    const character = await api('POST', '/v1/characters', form);
    await signedIn();
    $('character').value = character.id;
  } catch (e) { status(e.message); }
});

$('talk').addEventListener('click', async () => {
  // Created on a click: browsers only let a page play sound after a gesture.
  state.audio ??= new AudioContext();
  await state.audio.resume();
  try {
    const session = await api('POST', '/v1/sessions', { characterId: $('character').value });
    const { ticket } = await api('POST', `/v1/sessions/${session.id}/ticket`);
    connect(session.id, ticket);
  } catch (e) { status(e.message); }
});

function connect(sessionId, ticket) {
  state.socket?.close();
  const url = new URL(`/v1/sessions/${sessionId}/ws?ticket=${encodeURIComponent(ticket)}`, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  state.socket = socket;
  let reply = null;
  socket.onopen = () => status('connected');
  socket.onclose = () => status('disconnected');
  socket.onmessage = event => {
    const message = JSON.parse(event.data);
    switch (message.type) {
      case 'ready':
        $('conversation').hidden = false;
        status(`talking to ${message.character.name}`);
        break;
      case 'blendshapes.header': Face.setNames(message.names); break;
      case 'turn.start':
        silence();
        reply = say('character', '');
        break;
      case 'text.delta': if (reply) reply.textContent += message.text; break;
      case 'audio.format': state.rate = message.sampleRate; break;
      case 'audio': play(message.t, message.data); break;
      case 'frames': state.frames.push(...message.frames); break;
      case 'turn.end': state.stats.turns++; if (message.interrupted && reply) reply.textContent += ' …'; break;
      case 'error': state.stats.errors.push(message.code); say('error', `${message.code}: ${message.message}`); break;
    }
  };
}

function play(t, base64) {
  const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
  const samples = new Int16Array(bytes.buffer, 0, bytes.length >> 1);
  const buffer = state.audio.createBuffer(1, samples.length, state.rate);
  const channel = buffer.getChannelData(0);
  for (let i = 0; i < samples.length; i++) channel[i] = samples[i] / 32768;
  // The turn's clock starts a little after its first chunk arrives, so later chunks are never late.
  state.turnStart ??= state.audio.currentTime + 0.2;
  const source = state.audio.createBufferSource();
  source.buffer = buffer;
  source.connect(state.audio.destination);
  source.start(state.turnStart + t);
  state.sources.push(source);
  state.stats.audioChunks++;
}

// Stops the character mid-word: what is scheduled is dropped, and the face goes back to rest.
function silence() {
  state.sources.forEach(s => s.stop());
  state.sources = [];
  state.turnStart = null; state.frames = []; state.nextFrame = 0;
}

function animate() {
  if (state.turnStart !== null && state.audio) {
    const now = state.audio.currentTime - state.turnStart;
    let frame = null;
    while (state.nextFrame < state.frames.length && state.frames[state.nextFrame].t <= now) frame = state.frames[state.nextFrame++];
    if (frame) {
      const open = Face.draw(frame.w);
      state.stats.framesShown++;
      state.stats.maxMouthOpen = Math.max(state.stats.maxMouthOpen, open);
    }
  }
  requestAnimationFrame(animate);
}

$('say').addEventListener('submit', event => {
  event.preventDefault();
  const input = event.target.elements.text;
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return;
  // Talking over the character stops what it was saying, here as on the server.
  silence();
  say('user', input.value);
  state.socket.send(JSON.stringify({ type: 'say', text: input.value }));
  input.value = '';
});

$('interrupt').addEventListener('click', () => { silence(); state.socket?.send(JSON.stringify({ type: 'interrupt' })); });

(async () => {
  requestAnimationFrame(animate);
  if (state.key) { try { await signedIn(); } catch { localStorage.removeItem('avatar.key'); } }
})();
