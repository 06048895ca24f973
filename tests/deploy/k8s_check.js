#!/usr/bin/env node
// Offline checks of rendered Kubernetes manifests (the output of `kubectl kustomize`), for
// tests/deploy/check_manifests.sh. Usage: node k8s_check.js FILE...
//
// 1. Types: each object against the kubernetes-models schema of its apiVersion/kind (an unknown
//    kind, a string where an integer belongs, a missing required field).
// 2. Unknown fields, which those schemas let through: the schema's validator runs on a Proxy of
//    the object that records which properties it reads. A typed object's validator reads every
//    property its schema defines, so a key it never read is not in the schema (a typo such as
//    `readinesProbe`). Maps (labels, resources.limits, ConfigMap data) are enumerated instead,
//    and are skipped; an object the validator never looked at is reported as unchecked.
// 3. Rules of this project: every container non-root with a read-only root file system, no
//    privilege escalation and ALL capabilities dropped; requests and limits; readiness and
//    liveness probes on long-running containers; Secrets hold no values (template only).
// Prints one line per problem; exits 1 if there is any.
'use strict';

const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const problems = [];
const report = (where, what) => problems.push(`${where}: ${what}`);

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const modulePath = group === '' ? `kubernetes-models/${version}/${kind}`
                                  : `kubernetes-models/${group}/${version}/${kind}`;
  try {
    return require(modulePath)[kind];
  } catch (e) {
    return undefined;
  }
}

// A Proxy over `value` (and, lazily, everything below it) that records property reads.
function track(value, pointer, records) {
  if (value === null || typeof value !== 'object') return value;
  const record = {pointer, value, read: new Set(), enumerated: false};
  records.push(record);
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return v;
      record.read.add(key);
      if (v === null || typeof v !== 'object') return v;
      if (!children.has(key)) children.set(key, track(v, `${pointer}/${key}`, records));
      return children.get(key);
    },
    has(target, key) {
      if (typeof key === 'string') record.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      record.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function checkSchema(doc, where) {
  const Model = modelFor(String(doc.apiVersion), String(doc.kind));
  if (!Model) {
    report(where, `no schema for apiVersion ${doc.apiVersion} kind ${doc.kind} (not a Kubernetes 1.30 type)`);
    return;
  }
  const records = [];
  try {
    Model.prototype.validate.call(track(doc, '', records));
  } catch (e) {
    const details = (e.errors || []).map((x) => `${x.instancePath || '/'} ${x.message}`);
    report(where, `schema: ${details.length ? details.join('; ') : e.message}`);
  }
  for (const r of records) {
    if (Array.isArray(r.value) || r.enumerated) continue;
    if (r.read.size === 0) {
      // Never looked at: a free-form object, or one below a schema error. Either way unchecked.
      const keys = Object.keys(r.value);
      if (keys.length) report(where, `fields not checked by any schema: ${r.pointer}/{${keys.join(',')}}`);
      continue;
    }
    for (const key of Object.keys(r.value)) {
      if (!r.read.has(key)) report(where, `unknown field ${r.pointer || ''}/${key}`);
    }
  }
}

function podSpecOf(doc) {
  switch (doc.kind) {
    case 'Pod': return doc.spec;
    case 'CronJob': return doc.spec?.jobTemplate?.spec?.template?.spec;
    case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'ReplicaSet': case 'Job':
      return doc.spec?.template?.spec;
    default: return undefined;
  }
}

function checkContainer(c, longRunning, where) {
  const at = `${where} container ${c.name}`;
  const sc = c.securityContext || {};
  if (sc.allowPrivilegeEscalation !== false) report(at, 'securityContext.allowPrivilegeEscalation must be false');
  if (sc.readOnlyRootFilesystem !== true) report(at, 'securityContext.readOnlyRootFilesystem must be true');
  if (!(sc.capabilities?.drop || []).includes('ALL')) report(at, 'securityContext.capabilities.drop must include ALL');
  if (sc.runAsUser === 0) report(at, 'securityContext.runAsUser must not be 0');
  for (const kind of ['requests', 'limits']) {
    for (const resource of ['cpu', 'memory']) {
      if (c.resources?.[kind]?.[resource] === undefined) report(at, `resources.${kind}.${resource} missing`);
    }
  }
  if (longRunning) {
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      if (!c[probe]) report(at, `${probe} missing`);
    }
  }
  if (c.image && !/:[^/]+$|@sha256:/.test(c.image)) report(at, `image ${c.image} has no tag`);
}

function checkRules(doc, where) {
  const pod = podSpecOf(doc);
  if (pod) {
    if (pod.securityContext?.runAsNonRoot !== true) report(where, 'pod securityContext.runAsNonRoot must be true');
    if (pod.automountServiceAccountToken !== false) report(where, 'automountServiceAccountToken must be false');
    for (const c of pod.containers || []) checkContainer(c, true, where);
    // Native sidecars (restartPolicy: Always) run as long as the pod: they need probes too.
    for (const c of pod.initContainers || []) checkContainer(c, c.restartPolicy === 'Always', where);
  }
  if (doc.kind === 'Secret') {
    for (const field of ['data', 'stringData']) {
      for (const [key, value] of Object.entries(doc[field] || {})) {
        if (value !== '' && !String(value).includes('REPLACE-ME')) {
          report(where, `Secret ${field}.${key} holds a value: commit templates only (empty or REPLACE-ME)`);
        }
      }
    }
  }
}

for (const file of process.argv.slice(2)) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  if (docs.length === 0) report(file, 'no objects');
  docs.forEach((d, i) => {
    if (d.errors.length) {
      report(`${file}#${i}`, `YAML: ${d.errors.map((e) => e.message).join('; ')}`);
      return;
    }
    const doc = d.toJSON();
    if (doc === null) return;
    const where = `${path.basename(file)}: ${doc.kind || '?'} ${doc.metadata?.name || '?'}`;
    checkSchema(doc, where);
    checkRules(doc, where);
  });
}

for (const p of problems) console.log(p);
console.log(`k8s_check: ${problems.length} problem(s) in ${process.argv.length - 2} file(s)`);
process.exit(problems.length ? 1 : 0);
