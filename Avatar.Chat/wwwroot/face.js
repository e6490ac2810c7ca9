// Draws the face from ARKit blend shape weights (the 68 names of blendshapes.header): the jaw and lips shape the
// mouth, blinks close the eyes, brows rise. An SVG drawing, so the page downloads no assets.
'use strict';
const Face = (() => {
  let index = {};
  const el = id => document.getElementById(id);
  const w = (weights, name) => { const i = index[name]; return i === undefined ? 0 : weights[i] || 0; };

  function setNames(names) { index = Object.fromEntries(names.map((n, i) => [n, i])); }

  function draw(weights) {
    const jaw = w(weights, 'JawOpen');
    const close = w(weights, 'MouthClose');
    const funnel = Math.max(w(weights, 'MouthFunnel'), w(weights, 'MouthPucker'));
    const smile = (w(weights, 'MouthSmileLeft') + w(weights, 'MouthSmileRight')) / 2;
    const stretch = (w(weights, 'MouthStretchLeft') + w(weights, 'MouthStretchRight')) / 2;
    const open = Math.max(0, jaw - close * 0.8);
    const half = 30 * (1 - 0.45 * funnel) + 8 * (smile + stretch);
    const corner = 175 - 8 * smile;
    const top = 175 - 4 * open - 2 * funnel;
    const bottom = 178 + 38 * open + 4 * funnel;
    el('mouth').setAttribute('d',
      `M${100 - half} ${corner} Q100 ${top - 4} ${100 + half} ${corner} Q100 ${bottom + 4} ${100 - half} ${corner} Z`);
    el('mouth').dataset.open = open.toFixed(3);
    el('eyeL').setAttribute('ry', (7 * (1 - w(weights, 'EyeBlinkLeft'))).toFixed(2));
    el('eyeR').setAttribute('ry', (7 * (1 - w(weights, 'EyeBlinkRight'))).toFixed(2));
    const lift = 8 * w(weights, 'BrowInnerUp');
    el('browL').setAttribute('d', `M55 ${78 - lift} Q70 ${70 - lift} 85 ${78 - lift}`);
    el('browR').setAttribute('d', `M115 ${78 - lift} Q130 ${70 - lift} 145 ${78 - lift}`);
    return open;
  }

  return { setNames, draw };
})();
