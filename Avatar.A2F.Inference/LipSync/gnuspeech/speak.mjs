// Speaks a batch of utterances with GnuSpeech, an articulatory synthesizer, for SpeechEngines (C#): one process per
// batch, since starting the synthesizer costs about a second.
//
//   node speak.mjs < {"directory": "...", "temporary": ".123.4.tmp", "utterances": [{"key", "text", "voice", "tempo"}]}
//
// writes <directory>/<key><temporary>.wav (GnuSpeech's: 44.1 kHz, 16-bit mono) and .phones ("posture end-seconds" lines, each phone
// starting where the one before ended, as flite's and festival's clips are); SpeechEngines publishes them.
//
// GnuSpeech prints (debug) each sentence's postures and the rules that join them: a rule spans postures start..end and
// lasts `duration` ms, and the rules tile the sentence in order. A posture's target is the middle of its quasi-steady
// state. The postures at the ends of a rule are timed by the sum of the durations before it, the ones inside a rule
// (triphones, tetraphones) by that rule's mark1 and mark2 in monet.xml, evaluated as the synthesizer does (each rule's
// duration is evaluated too and checked against the printed one), and every time is cut to whole ms and to the 4 ms
// control period as the synthesizer's event list cuts it: the vocal tract reaches each posture's target at that time,
// and the postures end where the audio ends. A phone spans its posture's sound: from the middle of the transition
// before its target to the middle of the one after (each transition runs from the end of one posture's steady state,
// qssb, to the start of the next one's, qssa).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { synthesize } from '@echogarden/gnuspeech-wasm'

const monet = readMonet(new URL('../../data/en/monet.xml', import.meta.resolve('@echogarden/gnuspeech-wasm')))

// The synthesizer prints through console.log, bound when its module starts: every line it prints is collected here,
// so this script reports on stderr only.
let printed = []
console.log = (...values) => printed.push(values.join(' '))

// Intonation varies at random, drawn from a seed the synthesizer takes from crypto.getRandomValues on each call. Seeding
// it from the utterance's key makes each clip the same whatever the batch or process (the clips are cached on that
// promise), and still different from one utterance to the next. (The whole global is replaced: node 18 has none.)
let seed = 1
Object.defineProperty(globalThis, 'crypto', {
  configurable: true,
  value: {
    getRandomValues: view => {
      const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
      for (let i = 0; i < bytes.length; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
        bytes[i] = seed >>> 24
      }
      return view
    },
  },
})

const SampleRate = 44100

/**
 * Speaks `text`: its WAV file and samples, its postures ({ name, time of the target, end of the phone } in ms on the
 * audio's time base) and the synthesizer's control parameters (text, one line per 4 ms: the vocal tract's radii from
 * glottis to lips, r8 the lips), against which the postures' timing can be checked.
 */
export async function speak(text, { voice, tempo, key }) {
  seed = Number.parseInt(key.slice(0, 8), 16) || 1
  printed = []
  const { audioData, params } = await synthesize(text, { voice, tempo, controlRate: 250, debug: true })
  const samples = pcmOf(audioData)
  const postures = label(printed)
  // The audio is the control periods (4 ms each) the postures span, plus about a millisecond of the tube's tail.
  const length = samples.length / (SampleRate / 1000)
  if (!(Math.abs(postures[postures.length - 1].end - length) < 3)) {
    throw new Error(`GnuSpeech's postures for "${text}" end at ${postures[postures.length - 1].end} ms, its audio at ${length} ms`)
  }
  postures[postures.length - 1].end = length
  return { wav: audioData, samples, postures, params: new TextDecoder().decode(params) }
}

/** The postures with the times of their targets and the ends of their phones (ms) from the synthesizer's printout. */
function label(lines) {
  // Each sentence is a chunk of its own, its postures and rules numbered from 0; its audio follows the chunk before.
  const chunks = []
  for (const line of lines) {
    let m
    if (line.startsWith('Speaking ')) {
      chunks.push({ postures: [], rules: [] })
    } else if ((m = /^(\d+)\s+"([^"]+)" tempo: ([\d.]+) .* ruleTempo: ([\d.]+)/.exec(line))) {
      chunks[chunks.length - 1].postures[Number(m[1])] = { name: m[2], tempo: Number(m[3]), ruleTempo: Number(m[4]) }
    } else if ((m = /^Number: (\d+)\s+start: (\d+)\s+end: (\d+)\s+duration ([\d.]+)/.exec(line))) {
      chunks[chunks.length - 1].rules.push({ number: Number(m[1]), start: Number(m[2]), end: Number(m[3]), duration: Number(m[4]) })
    }
  }
  if (chunks.length === 0) {
    throw new Error('GnuSpeech printed no postures')
  }
  let offset = 0
  const timed = []
  for (const { postures, rules } of chunks) {
    offset = time(postures, rules, offset)
    timed.push(...postures.filter(p => p.time !== undefined && !p.unprinted))
  }
  return timed.map((posture, i) => {
    const next = timed[i + 1]
    if (!next) {
      return { ...posture, end: offset }
    }
    const steadyEnd = posture.time + (monet.postures[posture.name].qssb / posture.tempo)
    const steadyStart = next.time - (monet.postures[next.name].qssa / next.tempo)
    return { ...posture, end: Math.min(Math.max((steadyEnd + steadyStart) / 2, posture.time), next.time) }
  })
}

/** Sets the time (ms) of each posture of a chunk that starts at `offset`; returns the time the chunk ends. */
function time(postures, rules, offset) {
  // The last rule ends on a "^" that GnuSpeech appends and does not print (its duration checks that it is).
  if (rules.length > 0 && rules[rules.length - 1].end === postures.length) {
    postures.push({ name: '^', tempo: 1, ruleTempo: 1, unprinted: true })
  }
  // As the synthesizer's event list does: each rule starts where the one before ended, its duration cut to whole ms,
  // and every event falls on the 4 ms control period below it.
  const quantized = ms => Math.floor(ms / 4) * 4
  let time = 0
  for (const rule of rules) {
    const marks = evaluateRule(monet.rules[rule.number - 1], rule, postures)
    if (!(Math.abs(marks.rd - rule.duration) <= 0.01)) {
      const names = postures.slice(rule.start, rule.end + 1).map(p => p.name)
      throw new Error(`monet.xml times rule ${rule.number} (${names}) at ${marks.rd} ms, GnuSpeech at ${rule.duration}`)
    }
    postures[rule.start].time = offset + quantized(time)
    for (let k = 1; k < rule.end - rule.start; k++) {
      Object.assign(postures[rule.start + k], { time: offset + quantized(time + Math.trunc(marks[`mark${k}`])), middle: true })
    }
    time += Math.trunc(rule.duration)
  }
  return offset + quantized(time)
}

/**
 * A rule's symbols (rd, mark1, mark2, mark3, beat) for the postures it joins, in ms: evaluated in the synthesizer's
 * order and, as it keeps them, in single precision.
 */
function evaluateRule(rule, { start, end }, postures) {
  const symbols = { rd: 0, mark1: 0, mark2: 0, mark3: 0, beat: 0 }
  for (let k = 0; k <= end - start; k++) {
    const posture = postures[start + k]
    for (const [name, value] of Object.entries(monet.postures[posture.name])) {
      symbols[`${name}${k + 1}`] = Math.fround(value)
    }
    symbols[`tempo${k + 1}`] = Math.fround(posture.tempo)
  }
  for (const name of ['rd', 'mark1', 'mark2', 'mark3', 'beat']) {
    const equation = rule.symbols[name]
    symbols[name] = equation ? Math.fround(monet.equations[equation](symbols)) : 0
  }
  const multiplier = 1 / postures[start].ruleTempo
  return Object.fromEntries(['rd', 'mark1', 'mark2', 'mark3'].map(name => [name, symbols[name] * multiplier]))
}

/** The postures' symbol targets (duration, transition, qssa, qssb), the equations and the rules of monet.xml. */
function readMonet(path) {
  const xml = readFileSync(path, 'utf8')
  const postures = {}
  for (const [, symbol, body] of xml.matchAll(/<posture symbol="([^"]+)">([\s\S]*?)<\/posture>/g)) {
    const targets = body.match(/<symbol-targets>([\s\S]*?)<\/symbol-targets>/)[1]
    postures[symbol] = Object.fromEntries([...targets.matchAll(/<target name="(\w+)" value="([^"]+)"/g)].map(m => [m[1], Number(m[2])]))
  }
  const equations = {}
  for (const [, name, formula] of xml.matchAll(/<equation name="([^"]+)" formula="([^"]+)"/g)) {
    // Formulas are arithmetic over the symbols (qssb1, tempo2, rd, mark1 ...): nothing else is let through.
    if (!/^[\w\s.+\-*/()]+$/.test(formula)) {
      throw new Error(`monet.xml: equation ${name} is not arithmetic: ${formula}`)
    }
    const body = formula.replace(/[A-Za-z_]\w*/g, symbol => `(s.${symbol} ?? 0)`)
    equations[name] = new Function('s', `return ${body}`)
  }
  const rules = [...xml.matchAll(/<rule>([\s\S]*?)<\/rule>/g)].map(([, body]) => ({
    symbols: Object.fromEntries([...body.matchAll(/<symbol-equation name="(\w+)" equation="([^"]+)"/g)].map(m => [m[1], m[2]])),
  }))
  return { postures, equations, rules }
}

/** The 16-bit samples of a WAV file's data chunk. */
function pcmOf(wav) {
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength)
  for (let offset = 12; offset + 8 <= wav.byteLength;) {
    const id = String.fromCharCode(...wav.subarray(offset, offset + 4))
    const size = view.getUint32(offset + 4, true)
    if (id === 'fmt ' && (view.getUint16(offset + 10, true) !== 1 || view.getUint32(offset + 12, true) !== SampleRate || view.getUint16(offset + 22, true) !== 16)) {
      throw new Error('GnuSpeech wrote audio that is not 44.1 kHz 16-bit mono')
    }
    if (id === 'data') {
      return new Int16Array(wav.buffer.slice(wav.byteOffset + offset + 8, wav.byteOffset + offset + 8 + Math.min(size, wav.byteLength - offset - 8)))
    }
    offset += 8 + size + (size & 1)
  }
  throw new Error('GnuSpeech wrote no audio')
}

async function main() {
  const { directory, temporary, utterances } = JSON.parse(readFileSync(0, 'utf8'))
  for (const u of utterances) {
    const { wav, postures } = await speak(u.text, u)
    const path = join(directory, u.key + temporary)
    writeFileSync(path + '.wav', wav)
    writeFileSync(path + '.phones', postures.filter((p, i) => p.end > (postures[i - 1]?.end ?? 0))
      .map(p => `${p.name} ${(p.end / 1000).toFixed(6)}\n`).join(''))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main()
}
