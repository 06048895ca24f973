#!/usr/bin/env node
// The container recipe's rules, checked without a Docker engine, for check_manifests.sh.
// Usage: node dockerfile_check.js --dockerfile FILE --source-dir DIR [--binary agent-gateway]
//
// * two stages at least; the build stage FROM debian:12 (bookworm), the final one FROM
//   debian:12-slim (bookworm-slim), a digest allowed after either;
// * the final stage: copies the binary from an earlier stage, runs as a non-root USER, has an
//   exec-form ENTRYPOINT, and installs no build tools or -dev packages;
// * the build stage installs a package for every find_package() of the non-test CMake files
//   (config files located with dpkg), so a new dependency cannot be forgotten here;
// * with --binary: every shared library the built binary loads (ldd) comes from a package the
//   final stage installs, from those packages' dependencies, or from the slim base image.
// Package dependencies are read from dpkg's database, so the packages must be installed here
// (scripts/setup.sh installs the -dev packages, which pull in the runtime ones).
'use strict';

const fs = require('fs');
const path = require('path');
const {execFileSync} = require('child_process');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const problems = [];
const report = (what) => problems.push(what);

// Libraries every debian:12-slim image has (essential packages and apt's own dependencies).
const SLIM_BASE = new Set(['libc6', 'libgcc-s1', 'libstdc++6', 'zlib1g']);
const BUILD_TOOL = /^(build-essential|cmake|ninja-build|make|gcc(-\d+)?|g\+\+(-\d+)?|clang(-\d+)?|pkg-config|protobuf-compiler(-grpc)?|git|ccache|.*-dev)$/;

// Instructions of a Dockerfile: continuation lines joined, comments and blank lines dropped.
function parseDockerfile(text) {
  const out = [];
  let current = '';
  let line = 0;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (current === '' && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current !== '' && trimmed.startsWith('#')) return;  // comment inside a continuation
    if (current === '') line = i + 1;
    current += (current ? ' ' : '') + trimmed.replace(/\\$/, '').trim();
    if (!trimmed.endsWith('\\')) {
      const m = current.match(/^(\S+)\s*(.*)$/);
      out.push({line, keyword: m[1].toUpperCase(), args: m[2]});
      current = '';
    }
  });
  return out;
}

function aptPackages(runArgs) {
  const packages = [];
  for (const part of runArgs.split(/&&|;|\|\|/)) {
    const words = part.trim().split(/\s+/);
    const at = words.findIndex((w, i) => w === 'install' && words.slice(0, i).some((x) => /^apt(-get)?$/.test(x)));
    if (at < 0) continue;
    for (const w of words.slice(at + 1)) if (!w.startsWith('-')) packages.push(w.replace(/=.*$/, ''));
  }
  return packages;
}

// CMake text without its if(AG_BUILD_TESTS) ... endif() blocks (the image builds no tests).
function withoutTestBlocks(cmake) {
  const out = [];
  let depth = 0;
  for (const line of cmake.split('\n')) {
    const code = line.replace(/#.*$/, '');
    if (depth === 0 && /^\s*if\s*\(\s*AG_BUILD_TESTS\s*\)/.test(code)) { depth = 1; continue; }
    if (depth > 0) {
      if (/^\s*if\s*\(/.test(code)) depth++;
      if (/^\s*endif\s*\(/.test(code)) depth--;
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}

function sh(cmd, cmdArgs) {
  try {
    return execFileSync(cmd, cmdArgs, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']});
  } catch (e) {
    return e.stdout || '';
  }
}

// Installed packages reachable from `roots` through Depends and Pre-Depends.
function closure(roots) {
  const seen = new Set();
  const todo = [...roots];
  while (todo.length) {
    const p = todo.pop();
    if (seen.has(p)) continue;
    if (sh('dpkg-query', ['-W', '-f=${db:Status-Status}', p]).trim() !== 'installed') {
      // Not installed here: its libraries count as missing below. A package the Dockerfile
      // names must still exist (a dependency may be virtual, or an alternative not taken).
      if (roots.includes(p) && !/Candidate: (?!\(none\))/.test(sh('apt-cache', ['policy', p]))) {
        report(`package ${p} is unknown to apt (a typo, or apt lists missing: apt-get update)`);
      }
      continue;
    }
    seen.add(p);
    const deps = sh('dpkg-query', ['-W', '-f=${Pre-Depends}, ${Depends}', p]);
    for (const alt of deps.split(',')) {
      const name = alt.trim().split(/\s*\|\s*/)[0].split(/[\s(:]/)[0];  // first alternative
      if (name) todo.push(name);
    }
  }
  return seen;
}

// Packages owning a file that ends with `suffix` (dpkg -S with a glob).
function owners(suffix) {
  const out = sh('dpkg-query', ['-S', `*${suffix}`]);
  const result = new Set();
  for (const line of out.split('\n')) {
    const m = line.match(/^([^:,\s]+)(:\S+)?(, [^:]+)*: /);
    if (m && !line.startsWith('diversion')) result.add(m[1]);
  }
  return result;
}

const text = fs.readFileSync(args.dockerfile, 'utf8');
const stages = [];
for (const ins of parseDockerfile(text)) {
  if (ins.keyword === 'FROM') {
    const m = ins.args.match(/^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i);
    stages.push({image: m[1], name: m[2], line: ins.line, instructions: []});
  } else if (stages.length) {
    stages[stages.length - 1].instructions.push(ins);
  }
}

if (stages.length < 2) report(`multi-stage build expected, found ${stages.length} FROM`);
const build = stages[0];
const final = stages[stages.length - 1];
if (build && !/^debian:(12|bookworm)(@sha256:[0-9a-f]{64})?$/.test(build.image)) {
  report(`line ${build.line}: build stage FROM ${build.image}, expected debian:12 or debian:bookworm`);
}
if (final && !/^debian:(12|bookworm)-slim(@sha256:[0-9a-f]{64})?$/.test(final.image)) {
  report(`line ${final.line}: final stage FROM ${final.image}, expected debian:12-slim or debian:bookworm-slim`);
}

const kw = (stage, k) => stage.instructions.filter((i) => i.keyword === k);
const finalPackages = [];
if (final) {
  const users = kw(final, 'USER');
  const user = users.length ? users[users.length - 1].args.split(':')[0] : undefined;
  if (user === undefined) report('final stage has no USER: it would run as root');
  else if (user === 'root' || user === '0') report(`final stage runs as USER ${user}`);
  const entry = kw(final, 'ENTRYPOINT');
  if (!entry.length || !entry[entry.length - 1].args.startsWith('[')) {
    report('final stage needs an exec-form ENTRYPOINT ["..."] so SIGTERM reaches the gateway');
  }
  if (!kw(final, 'COPY').some((i) => /--from=/.test(i.args))) report('final stage copies nothing from the build stage');
  for (const run of kw(final, 'RUN')) {
    for (const p of aptPackages(run.args)) {
      finalPackages.push(p);
      if (BUILD_TOOL.test(p)) report(`line ${run.line}: final stage installs build package ${p}`);
    }
  }
}

// Every find_package() of the product's CMake files needs a package in the build stage.
if (build && args['source-dir']) {
  const buildPackages = closure(kw(build, 'RUN').flatMap((r) => aptPackages(r.args)));
  const FIND_MODULES = {Threads: [], Protobuf: ['libprotobuf-dev'], OpenSSL: ['libssl-dev']};
  const rootCmake = withoutTestBlocks(fs.readFileSync(path.join(args['source-dir'], 'CMakeLists.txt'), 'utf8'));
  const subdirs = [...rootCmake.matchAll(/add_subdirectory\(\s*([^\s)]+)/g)].map((m) => m[1]);
  const copies = kw(build, 'COPY').map((i) => i.args.split(/\s+/));
  const ignorePath = args.dockerfile + '.dockerignore';
  const allowed = fs.existsSync(ignorePath) ? fs.readFileSync(ignorePath, 'utf8').split('\n')
    .filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, '')) : undefined;
  for (const dir of ['CMakeLists.txt', ...subdirs]) {
    if (!copies.some((c) => c.slice(0, -1).some((src) => src.replace(/\/$/, '') === dir))) {
      report(`the build stage does not COPY ${dir}, which the top-level CMakeLists.txt builds`);
    }
    if (allowed && !allowed.includes(dir)) report(`${path.basename(ignorePath)} does not let ${dir} into the context`);
  }
  const files = ['CMakeLists.txt', ...subdirs.flatMap((d) =>
    sh('find', [path.join(args['source-dir'], d), '-name', 'CMakeLists.txt']).split('\n').filter(Boolean)
      .map((f) => path.relative(args['source-dir'], f)))];
  for (const f of files) {
    const cmake = withoutTestBlocks(fs.readFileSync(path.join(args['source-dir'], f), 'utf8'));
    for (const m of cmake.matchAll(/find_package\(\s*([A-Za-z0-9_+-]+)/g)) {
      const name = m[1];
      const candidates = FIND_MODULES[name] ||
        [...new Set([...owners(`/${name}Config.cmake`), ...owners(`/${name.toLowerCase()}-config.cmake`)])];
      if (FIND_MODULES[name] === undefined && candidates.length === 0) {
        report(`${f}: find_package(${name}): no installed package provides its CMake config; install it here first`);
      } else if (candidates.length && !candidates.some((p) => buildPackages.has(p))) {
        report(`${f}: find_package(${name}) needs ${candidates.join(' or ')} in the build stage`);
      }
    }
  }
}

// Every library the binary loads must be in the final stage.
if (args.binary) {
  const provided = new Set([...closure(finalPackages), ...closure([...SLIM_BASE])]);
  const ldd = sh('ldd', [args.binary]);
  if (!ldd) report(`ldd ${args.binary} printed nothing`);
  for (const line of ldd.split('\n')) {
    const m = line.trim().match(/^(\S+\.so[.\d]*)\s+=>\s+(\S+)/);
    if (!m) continue;
    if (m[2] === 'not') { report(`${m[1]}: not found by ldd`); continue; }
    if (/^lib(a|ub|t|l|hwa)san\.so/.test(m[1])) continue;  // a sanitizer build's runtime, never in the image
    const packages = [...owners(`-linux-gnu/${m[1]}`)];
    if (packages.length === 0) { report(`${m[1]} (${m[2]}): no package owns it`); continue; }
    if (!packages.some((p) => provided.has(p))) {
      report(`the binary loads ${m[1]} from ${packages.join(' or ')}, which the final stage does not install`);
    }
  }
}

for (const p of problems) console.log(`${args.dockerfile}: ${p}`);
console.log(`dockerfile_check: ${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);
