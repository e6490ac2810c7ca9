// Reads rendered Kubernetes YAML on stdin and checks every object against the Kubernetes API's OpenAPI schemas, as
// compiled by kubernetes-models (KEDA's CRDs by @kubernetes-models/keda). The compiled validators check types, required
// fields and enums but let unknown fields through, which the API server would reject (strict field validation); a
// proxy records every field the validator reads, and a field never read is one the schema does not know.
// Prints one JSON line per object: {kind, name, errors: [...]}; exits 1 if any object has errors.
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

function schemaFile(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const pascal = s => s.replace(/(^|[.\-])([a-z0-9])/g, (_, __, c) => c.toUpperCase());
  if (group === 'keda.sh') {
    return path.join(__dirname, 'node_modules/@kubernetes-models/keda/_schemas', `ComGithubKedacoreKedaV2ApisKeda${pascal(version)}${kind}.js`);
  }
  const groupName = pascal(group.replace(/\.k8s\.io$/, ''));
  return path.join(__dirname, 'node_modules/kubernetes-models/_schemas', `IoK8sApi${groupName}${pascal(version)}${kind}.js`);
}

function track(value, pointer, seen) {
  if (value === null || typeof value !== 'object') return value;
  const read = new Set();
  const copy = Array.isArray(value)
    ? value.map((v, i) => track(v, `${pointer}/${i}`, seen))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, track(v, `${pointer}/${k}`, seen)]));
  if (!Array.isArray(value)) seen.push({ pointer, keys: Object.keys(value), read });
  return new Proxy(copy, {
    get(target, key, receiver) { read.add(key); return Reflect.get(target, key, receiver); },
    has(target, key) { read.add(key); return Reflect.has(target, key); },
    ownKeys(target) { Object.keys(target).forEach(k => read.add(k)); return Reflect.ownKeys(target); },
  });
}

let failed = false;
for (const doc of YAML.parseAllDocuments(fs.readFileSync(0, 'utf8'))) {
  const object = doc.toJS();
  if (!object) continue;
  // Kustomize folds long base64 values over lines; the API server's base64 decoding skips line breaks, the schema's
  // format check does not.
  if (object.kind === 'Secret' && object.data) {
    for (const key of Object.keys(object.data)) object.data[key] = String(object.data[key]).replace(/\s+/g, '');
  }
  const errors = [];
  const file = schemaFile(object.apiVersion ?? '', object.kind ?? '');
  if (!fs.existsSync(file)) {
    errors.push(`no schema for ${object.apiVersion} ${object.kind}`);
  } else {
    const { validate } = require(file);
    const seen = [];
    if (!validate(track(object, '', seen))) {
      errors.push(...validate.errors.map(e => `${e.instancePath || '/'} ${e.keyword} ${JSON.stringify(e.params)}`));
    }
    for (const { pointer, keys, read } of seen) {
      for (const key of keys) if (!read.has(key)) errors.push(`${pointer}/${key} is not a field of the schema`);
    }
  }
  failed ||= errors.length > 0;
  console.log(JSON.stringify({ kind: object.kind, name: object.metadata?.name, errors }));
}
process.exit(failed ? 1 : 0);
